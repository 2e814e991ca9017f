using System.Diagnostics;
using System.Globalization;

namespace ResNet.MLNet.Training;

/// <summary>
/// A one-line live progress bar like fastprogress's: bar, percent, count, elapsed&lt;remaining and the smoothed loss.
/// Redraws in place with a carriage return; used only when the output is an interactive terminal.
/// </summary>
internal sealed class ProgressBar(TextWriter output, string title, long total)
{
    private const int Width = 30;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDraw = -1000;
    private int _lastLength;

    /// <summary>True when drawing makes sense: standard output is a terminal, not a file or pipe.</summary>
    public static bool IsTerminal(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    public void Update(long done, double? loss)
    {
        long now = _clock.ElapsedMilliseconds;
        if (done < total && now - _lastDraw < 200) return;
        _lastDraw = now;
        double fraction = total > 0 ? Math.Min(1, (double)done / total) : 0;
        int filled = (int)Math.Round(fraction * Width);
        var elapsed = _clock.Elapsed;
        var remaining = done > 0 ? TimeSpan.FromTicks((long)(elapsed.Ticks * (total - done) / (double)done)) : TimeSpan.Zero;
        string text = $"{title} |{new string('█', filled)}{new string('-', Width - filled)}| {fraction * 100:F0}% " +
            $"[{done}/{total} {EpochTable.FormatTime(elapsed)}<{EpochTable.FormatTime(remaining)}" +
            (loss is double l ? " " + l.ToString("F4", CultureInfo.InvariantCulture) : "") + "]";
        output.Write("\r" + text.PadRight(_lastLength));
        _lastLength = text.Length;
        output.Flush();
    }

    /// <summary>Erases the bar so the table row can take the line.</summary>
    public void Clear()
    {
        output.Write("\r" + new string(' ', _lastLength) + "\r");
        output.Flush();
    }
}
