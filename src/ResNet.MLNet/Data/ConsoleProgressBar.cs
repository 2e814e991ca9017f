using System.Diagnostics;
using System.Globalization;

namespace ResNet.MLNet.Data;

/// <summary>A one-line progress bar on the console's error stream, drawn only when it is a terminal.</summary>
internal sealed class ConsoleProgressBar : IProgress<DownloadProgress>
{
    private const int Width = 30;
    private readonly TextWriter _writer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private TimeSpan _lastDraw = TimeSpan.MinValue;
    private DownloadStage? _stage;
    private TimeSpan _stageStart;

    private ConsoleProgressBar(TextWriter writer) => _writer = writer;

    /// <summary>A bar on standard error, or null when standard error is redirected (logs, CI, tests).</summary>
    public static ConsoleProgressBar? ForTerminal() => Console.IsErrorRedirected ? null : new ConsoleProgressBar(Console.Error);

    /// <summary>A bar on any writer (for tests).</summary>
    internal static ConsoleProgressBar ForWriter(TextWriter writer) => new(writer);

    public void Report(DownloadProgress value)
    {
        lock (_gate)
        {
            TimeSpan now = _clock.Elapsed;
            bool newStage = _stage != value.Stage;
            if (newStage && _stage is not null)
                _writer.WriteLine();
            if (newStage)
            {
                _stage = value.Stage;
                _stageStart = now;
            }
            bool finished = value.Stage == DownloadStage.Completed || (value.Total is long t && value.Done >= t);
            if (!newStage && !finished && now - _lastDraw < TimeSpan.FromMilliseconds(100))
                return;
            _lastDraw = now;
            _writer.Write('\r' + Format(value, now - _stageStart));
            if (value.Stage == DownloadStage.Completed)
                _writer.WriteLine();
            _writer.Flush();
        }
    }

    internal static string Format(DownloadProgress value, TimeSpan elapsed)
    {
        string verb = value.Stage switch
        {
            DownloadStage.Downloading => "Downloading",
            DownloadStage.Extracting => "Extracting",
            DownloadStage.Converting => "Converting",
            _ => "Ready",
        };
        if (value.Stage == DownloadStage.Completed)
            return $"{verb} {value.Name}";
        bool bytes = value.Stage != DownloadStage.Converting;
        string done = bytes ? Megabytes(value.Done) : value.Done.ToString(CultureInfo.InvariantCulture);
        string rate = elapsed.TotalSeconds > 0.2 && bytes ? $" {Megabytes((long)(value.Done / elapsed.TotalSeconds))}/s" : "";
        if (value.Total is long total && total > 0)
        {
            double fraction = Math.Clamp((double)value.Done / total, 0, 1);
            int filled = (int)(fraction * Width);
            string all = bytes ? Megabytes(total) : total.ToString(CultureInfo.InvariantCulture);
            return string.Create(CultureInfo.InvariantCulture, $"{verb} {value.Name} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction,4:P0} {done}/{all}{rate}   ");
        }
        return $"{verb} {value.Name} {done}{rate}   ";
    }

    private static string Megabytes(long bytes) =>
        (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB";
}
