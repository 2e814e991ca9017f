using System.Diagnostics;
using System.Globalization;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Data;

/// <summary>
/// A one-line live progress bar like fastprogress's, redrawn in place with a carriage return: title, bar, percent,
/// done/total, elapsed&lt;remaining and a suffix (the smoothed loss, a transfer rate). Used for training passes, image
/// decoding and downloads, and only when the output is an interactive terminal (<see cref="IsTerminal"/>).
/// </summary>
internal sealed class ConsoleProgressBar(TextWriter output, string title, long? total, Func<long, string>? unit = null)
{
    private const int Width = 30;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(200);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Func<long, string> _unit = unit ?? (n => n.ToString(CultureInfo.InvariantCulture));
    private readonly Lock _gate = new();
    private TimeSpan? _lastDraw;
    private int _lastLength;

    /// <summary>True when drawing makes sense: <paramref name="output"/> is the console's standard output or error, not redirected to a file or pipe.</summary>
    public static bool IsTerminal(TextWriter output) =>
        ReferenceEquals(output, Console.Out) ? !Console.IsOutputRedirected : ReferenceEquals(output, Console.Error) && !Console.IsErrorRedirected;

    /// <summary>Time since the bar was created.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Redraws with <paramref name="done"/> of the total (at most every 200 ms, always on the first and the last update).</summary>
    public void Update(long done, string? suffix = null)
    {
        lock (_gate)
        {
            var elapsed = _clock.Elapsed;
            bool finished = total is long t && done >= t;
            if (!finished && _lastDraw is TimeSpan last && elapsed - last < RedrawInterval) return;
            _lastDraw = elapsed;
            string text = Text(done, elapsed, suffix);
            output.Write("\r" + text.PadRight(_lastLength));
            _lastLength = text.Length;
            output.Flush();
        }
    }

    /// <summary>Erases the bar, so the next line (a table row) takes its place.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            output.Write("\r" + new string(' ', _lastLength) + "\r");
            output.Flush();
        }
    }

    /// <summary>Keeps the bar as drawn and ends its line.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            output.WriteLine();
            output.Flush();
        }
    }

    private string Text(long done, TimeSpan elapsed, string? suffix)
    {
        string count = _unit(done);
        if (total is not long all || all <= 0)
            return $"{title} {count} {EpochTable.FormatTime(elapsed)}{suffix}";
        double fraction = Math.Clamp((double)done / all, 0, 1);
        int filled = (int)(fraction * Width);
        var remaining = done > 0 ? TimeSpan.FromTicks((long)(elapsed.Ticks * Math.Max(0, all - done) / (double)done)) : TimeSpan.Zero;
        return string.Create(CultureInfo.InvariantCulture,
            $"{title} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100:F0}% {count}/{_unit(all)} " +
            $"{EpochTable.FormatTime(elapsed)}<{EpochTable.FormatTime(remaining)}{suffix}");
    }

    /// <summary>Download, extraction and conversion progress as one bar per stage on standard error, or null when it is redirected (logs, CI, tests).</summary>
    public static IProgress<DownloadProgress>? ForDownloads() => IsTerminal(Console.Error) ? new DownloadBars(Console.Error) : null;

    /// <summary>Download progress as bars on any writer (for tests).</summary>
    internal static IProgress<DownloadProgress> ForDownloads(TextWriter writer) => new DownloadBars(writer);

    /// <summary>A bar per download stage (sizes in MB with the transfer rate; conversions in items) and a closing "Ready" line.</summary>
    private sealed class DownloadBars(TextWriter writer) : IProgress<DownloadProgress>
    {
        private readonly Lock _gate = new();
        private DownloadStage? _stage;
        private ConsoleProgressBar? _bar;

        public void Report(DownloadProgress value)
        {
            lock (_gate)
            {
                if (_stage != value.Stage)
                {
                    _bar?.Finish();
                    _stage = value.Stage;
                    _bar = value.Stage == DownloadStage.Completed ? null
                        : new ConsoleProgressBar(writer, $"{Verb(value.Stage)} {value.Name}", value.Total, value.Stage == DownloadStage.Converting ? null : Megabytes);
                }
                if (_bar is null)
                {
                    writer.WriteLine($"Ready {value.Name}");
                    writer.Flush();
                    return;
                }
                bool bytes = value.Stage != DownloadStage.Converting;
                double seconds = _bar.Elapsed.TotalSeconds;
                _bar.Update(value.Done, bytes && seconds > 0.2 ? $" {Megabytes((long)(value.Done / seconds))}/s" : null);
            }
        }

        private static string Verb(DownloadStage stage) => stage switch
        {
            DownloadStage.Downloading => "Downloading",
            DownloadStage.Extracting => "Extracting",
            _ => "Converting",
        };

        private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB";
    }
}
