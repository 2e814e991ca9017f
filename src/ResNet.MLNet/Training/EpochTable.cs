using System.Globalization;

namespace ResNet.MLNet.Training;

/// <summary>
/// Writes fastai's console epoch table: names padded to 8 characters and joined by two spaces, values aligned under them;
/// the run's other metrics follow accuracy. A value too wide for its column (a loss of 1000 or more) is written in
/// exponent form, so columns never run together.
/// </summary>
internal sealed class EpochTable(TextWriter output)
{
    private static readonly string[] Names = ["epoch", EpochMetrics.TrainLossColumn, EpochMetrics.ValidLossColumn, EpochMetrics.AccuracyColumn, "time"];
    private bool _headerWritten;

    public static string Header => HeaderFor([]);

    public static string HeaderFor(IReadOnlyCollection<string> metrics) => string.Join("  ", ColumnNames(metrics).Select(Pad));

    private static string[] ColumnNames(IReadOnlyCollection<string> metrics) => [.. Names[..4], .. metrics, Names[4]];

    public static string Row(EpochMetrics m)
    {
        var names = ColumnNames(m.Metrics.Keys.ToArray());
        string[] values =
        [
            m.Epoch.ToString(CultureInfo.InvariantCulture),
            Number(m.TrainLoss, Pad(names[1]).Length),
            m.ValidLoss is double valid ? Number(valid, Pad(names[2]).Length) : "None",
            m.Accuracy is double accuracy ? Number(accuracy, Pad(names[3]).Length) : "None",
            .. m.Metrics.Values.Select((v, i) => Number(v, Pad(names[4 + i]).Length)),
            FormatTime(m.Duration),
        ];
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < values.Length; i++)
            text.Append(values[i]).Append(' ', Math.Max(2, 2 + Pad(names[i]).Length - values[i].Length));
        return text.ToString().TrimEnd();
    }

    /// <summary>Six decimals as fastai prints them, or four significant digits with an exponent when that does not fit <paramref name="width"/>.</summary>
    private static string Number(double value, int width)
    {
        string fixedPoint = value.ToString("F6", CultureInfo.InvariantCulture);
        return fixedPoint.Length <= width ? fixedPoint : value.ToString("0.###E+0", CultureInfo.InvariantCulture);
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
