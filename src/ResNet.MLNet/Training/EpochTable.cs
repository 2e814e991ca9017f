using System.Globalization;

namespace ResNet.MLNet.Training;

/// <summary>
/// Writes fastai's console epoch table: names padded to 8 characters and joined by two spaces, values aligned under them;
/// the run's other metrics follow accuracy.
/// </summary>
internal sealed class EpochTable(TextWriter output)
{
    private static readonly string[] Names = ["epoch", "train_loss", "valid_loss", "accuracy", "time"];
    private bool _headerWritten;

    public static string Header => HeaderFor([]);

    public static string HeaderFor(IReadOnlyCollection<string> metrics) => string.Join("  ", ColumnNames(metrics).Select(Pad));

    private static string[] ColumnNames(IReadOnlyCollection<string> metrics) => [.. Names[..4], .. metrics, Names[4]];

    public static string Row(EpochMetrics m)
    {
        string[] values =
        [
            m.Epoch.ToString(CultureInfo.InvariantCulture),
            m.TrainLoss.ToString("F6", CultureInfo.InvariantCulture),
            m.ValidLoss?.ToString("F6", CultureInfo.InvariantCulture) ?? "None",
            m.Accuracy?.ToString("F6", CultureInfo.InvariantCulture) ?? "None",
            .. m.Metrics.Values.Select(v => v.ToString("F6", CultureInfo.InvariantCulture)),
            FormatTime(m.Duration),
        ];
        var names = ColumnNames(m.Metrics.Keys.ToArray());
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < values.Length; i++)
            text.Append(values[i]).Append(' ', Math.Max(0, 2 + Pad(names[i]).Length - values[i].Length));
        return text.ToString().TrimEnd();
    }

    /// <summary>fastai's <c>format_time</c>: mm:ss, or h:mm:ss past an hour.</summary>
    public static string FormatTime(TimeSpan t)
    {
        long s = (long)t.TotalSeconds;
        long h = s / 3600, m = s / 60 % 60;
        s %= 60;
        return h > 0 ? $"{h}:{m:00}:{s:00}" : $"{m:00}:{s:00}";
    }

    public void Write(EpochMetrics m)
    {
        if (!_headerWritten)
        {
            output.WriteLine(HeaderFor(m.Metrics.Keys.ToArray()).TrimEnd());
            _headerWritten = true;
        }
        output.WriteLine(Row(m));
        output.Flush();
    }

    private static string Pad(string name) => name.Length < 8 ? name.PadRight(8) : name;
}
