using System.Text.Json;
using Microsoft.ML.Data;
using ResNet.MLNet.IO;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet.Interpretation;

/// <summary>
/// ML.NET's multiclass metrics read the way fastai's <c>ClassificationInterpretation</c> presents them: overall
/// accuracy and log-loss, a per-class table, the confusion matrix with class names, and the most confused pairs.
/// </summary>
public sealed class ClassificationReport
{
    /// <summary>Builds the report from <c>MulticlassClassification.Evaluate</c>'s result and the class names in key order.</summary>
    public ClassificationReport(MulticlassClassificationMetrics metrics, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(classNames);
        var matrix = metrics.ConfusionMatrix;
        if (matrix.NumberOfClasses != classNames.Count)
            throw new ArgumentException($"The metrics have {matrix.NumberOfClasses} classes but {classNames.Count} names were given.", nameof(classNames));
        Accuracy = metrics.MicroAccuracy;
        MacroAccuracy = metrics.MacroAccuracy;
        LogLoss = metrics.LogLoss;
        ClassNames = classNames.ToArray();
        Counts = matrix.Counts.Select(row => (IReadOnlyList<double>)row.ToArray()).ToArray();
        Classes = Enumerable.Range(0, classNames.Count).Select(i => new ClassMetrics(
            classNames[i], Counts[i].Sum(), matrix.PerClassPrecision[i], matrix.PerClassRecall[i], metrics.PerClassLogLoss[i])).ToArray();
    }

    /// <summary>Metrics of one class.</summary>
    /// <param name="Name">The class name.</param>
    /// <param name="Support">How many rows have this class as their label.</param>
    /// <param name="Precision">Of the rows predicted as this class, the fraction that are.</param>
    /// <param name="Recall">Of the rows of this class, the fraction predicted as it.</param>
    /// <param name="LogLoss">Mean log-loss over the rows of this class.</param>
    public sealed record ClassMetrics(string Name, double Support, double Precision, double Recall, double LogLoss);

    /// <summary>One off-diagonal cell of the confusion matrix.</summary>
    /// <param name="Actual">The true class.</param>
    /// <param name="Predicted">The class it was taken for.</param>
    /// <param name="Count">How often.</param>
    public sealed record ConfusedPair(string Actual, string Predicted, double Count);

    /// <summary>Fraction of rows predicted correctly.</summary>
    public double Accuracy { get; }

    /// <summary>Mean of the per-class recalls.</summary>
    public double MacroAccuracy { get; }

    /// <summary>Mean log-loss.</summary>
    public double LogLoss { get; }

    /// <summary>Class names in key order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Per-class metrics, in key order.</summary>
    public IReadOnlyList<ClassMetrics> Classes { get; }

    /// <summary>Confusion counts indexed [actual, predicted].</summary>
    public IReadOnlyList<IReadOnlyList<double>> Counts { get; }

    /// <summary>fastai's <c>most_confused(min_val)</c>: off-diagonal cells with at least <paramref name="minCount"/>, largest first.</summary>
    public IReadOnlyList<ConfusedPair> MostConfused(double minCount = 1)
    {
        var pairs = new List<ConfusedPair>();
        for (int actual = 0; actual < ClassNames.Count; actual++)
            for (int predicted = 0; predicted < ClassNames.Count; predicted++)
                if (actual != predicted && Counts[actual][predicted] >= minCount)
                    pairs.Add(new ConfusedPair(ClassNames[actual], ClassNames[predicted], Counts[actual][predicted]));
        return pairs.OrderByDescending(p => p.Count).ThenBy(p => p.Actual, StringComparer.Ordinal).ThenBy(p => p.Predicted, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Writes the summary, the per-class table and the most confused pairs as text.</summary>
    public void WriteText(TextWriter writer, int mostConfused = 10)
    {
        writer.WriteLine($"accuracy {Accuracy:F4}   macro accuracy {MacroAccuracy:F4}   log-loss {LogLoss:F4}");
        int width = Math.Max(5, ClassNames.Max(n => n.Length));
        writer.WriteLine($"{"class".PadRight(width)}  {"support",7}  {"precision",9}  {"recall",6}  {"log-loss",8}");
        foreach (var c in Classes)
            writer.WriteLine($"{c.Name.PadRight(width)}  {c.Support,7:0}  {c.Precision,9:F3}  {c.Recall,6:F3}  {c.LogLoss,8:F3}");
        var confused = MostConfused().Take(mostConfused).ToArray();
        if (confused.Length == 0) return;
        writer.WriteLine("most confused (actual → predicted: count):");
        foreach (var pair in confused)
            writer.WriteLine($"  {pair.Actual} → {pair.Predicted}: {pair.Count:0}");
    }

    /// <summary>Writes the report as indented JSON (temporary file, then rename).</summary>
    public void SaveJson(string path)
    {
        var json = JsonSerializer.Serialize(new
        {
            accuracy = Accuracy, macroAccuracy = MacroAccuracy, logLoss = LogLoss,
            classes = Classes, confusionMatrix = new { classNames = ClassNames, counts = Counts }, mostConfused = MostConfused(),
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        AtomicFile.WriteAllText(path, json);
    }

    /// <summary>Writes the confusion matrix as a PNG.</summary>
    public void SaveConfusionMatrixPng(string path) => ConfusionMatrixPlot.SavePng(Counts, ClassNames, path);
}
