using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet.Interpretation;

/// <summary>
/// fastai's <c>ClassificationInterpretation</c> per image: every scored image with its actual and predicted class, the
/// predicted class's probability and its loss, so the images the model gets most wrong can be listed and looked at
/// (<see cref="TopLosses"/>, <see cref="PlotTopLosses"/>, <see cref="ShowResults"/>).
/// </summary>
public sealed class ClassificationInterpretation
{
    /// <summary>Smallest probability used in the loss, as ML.NET's log-loss clamps it.</summary>
    private const double MinProbability = 1e-15;

    /// <summary>One scored image.</summary>
    /// <param name="ImagePath">The image file.</param>
    /// <param name="Actual">Its label.</param>
    /// <param name="Predicted">The most probable class.</param>
    /// <param name="Probability">The predicted class's probability.</param>
    /// <param name="Loss">Cross-entropy: −ln of the actual class's probability (infinite when the label is not a class of the model).</param>
    public sealed record Item(string ImagePath, string Actual, string Predicted, float Probability, double Loss)
    {
        /// <summary>Whether the prediction is the label.</summary>
        public bool IsCorrect => Actual == Predicted;
    }

    /// <summary>Builds the interpretation from per-image probabilities (e.g. test-time augmented ones).</summary>
    /// <param name="imagePaths">Image files, one per row.</param>
    /// <param name="labels">Actual labels, one per row.</param>
    /// <param name="probabilities">Class probabilities, one vector per row, in <paramref name="classNames"/> order.</param>
    /// <param name="classNames">The model's class names.</param>
    public ClassificationInterpretation(IReadOnlyList<string> imagePaths, IReadOnlyList<string> labels,
        IReadOnlyList<float[]> probabilities, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(classNames);
        if (labels.Count != imagePaths.Count || probabilities.Count != imagePaths.Count)
            throw new ArgumentException($"Got {imagePaths.Count} image paths, {labels.Count} labels and {probabilities.Count} probability vectors; expected one of each per image.");
        ClassNames = classNames.ToArray();
        var index = ClassNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        var items = new Item[imagePaths.Count];
        for (int row = 0; row < items.Length; row++)
        {
            var p = probabilities[row];
            if (p.Length != ClassNames.Count)
                throw new ArgumentException($"Row {row} has {p.Length} probabilities for {ClassNames.Count} classes.", nameof(probabilities));
            int best = 0;
            for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
            double loss = index.TryGetValue(labels[row], out int actual) ? -Math.Log(Math.Max(p[actual], MinProbability)) : double.PositiveInfinity;
            items[row] = new Item(imagePaths[row], labels[row], ClassNames[best], p[best], loss);
        }

        Items = items;
    }

    /// <summary>The model's class names.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every image, in data order.</summary>
    public IReadOnlyList<Item> Items { get; }

    /// <summary>Fraction of images predicted correctly.</summary>
    public double Accuracy => Items.Count == 0 ? 0 : Items.Count(i => i.IsCorrect) / (double)Items.Count;

    /// <summary>
    /// Reads a scored view (<c>model.Transform(data)</c>): the image path, the label (text, or a key with key values)
    /// and the <c>Score</c> probabilities whose slot names are the class names.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has an unusable type.</exception>
    public static ClassificationInterpretation FromScored(IDataView scored, string labelColumnName = DefaultColumnNames.Label,
        string scoreColumnName = ResNetTransformer.ScoreColumnName, string imagePathColumnName = DefaultColumnNames.ImagePath)
    {
        ArgumentNullException.ThrowIfNull(scored);
        const string who = "ClassificationInterpretation";
        var path = ColumnChecks.Find(scored.Schema, who, imagePathColumnName);
        var label = ColumnChecks.Find(scored.Schema, who, labelColumnName);
        var score = ColumnChecks.Find(scored.Schema, who, scoreColumnName);
        if (path.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(imagePathColumnName), $"{who}: column '{path.Name}' has type {ColumnChecks.Describe(path.Type)}; expected text (image paths).");
        string[] classNames;
        try
        {
            classNames = ImagePrediction.GetClassNames(scored.Schema, scoreColumnName);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentOutOfRangeException(nameof(scoreColumnName), $"{who}: {e.Message}");
        }

        var paths = new List<string>();
        var labels = new List<string>();
        var probabilities = new List<float[]>();
        using var cursor = scored.GetRowCursor([path, label, score]);
        var pathGetter = cursor.GetGetter<ReadOnlyMemory<char>>(path);
        var labelGetter = LabelReader(cursor, label, who);
        var scoreGetter = cursor.GetGetter<VBuffer<float>>(score);
        ReadOnlyMemory<char> pathValue = default;
        VBuffer<float> scoreValue = default;
        while (cursor.MoveNext())
        {
            pathGetter(ref pathValue);
            scoreGetter(ref scoreValue);
            paths.Add(pathValue.ToString());
            labels.Add(labelGetter());
            probabilities.Add(scoreValue.DenseValues().ToArray());
        }

        return new ClassificationInterpretation(paths, labels, probabilities, classNames);
    }

    /// <summary>fastai's <c>top_losses(k)</c>: the <paramref name="k"/> images with the highest loss, highest first.</summary>
    public IReadOnlyList<Item> TopLosses(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return Items.Select((item, i) => (item, i)).OrderByDescending(p => p.item.Loss).ThenBy(p => p.i).Take(k).Select(p => p.item).ToArray();
    }

    /// <summary>
    /// fastai's <c>plot_top_losses(k)</c>: writes a PNG grid of the <paramref name="k"/> images with the highest loss,
    /// each titled <c>predicted/actual / loss / probability</c>, green when right and red when wrong.
    /// </summary>
    /// <returns>The full path of the PNG written.</returns>
    public string PlotTopLosses(int k, string path, int tileSize = 192) =>
        PredictionGrid.Save(TopLosses(k), path, tileSize, "Prediction/Actual/Loss/Probability",
            item => [$"{item.Predicted}/{item.Actual}", $"{FormatLoss(item.Loss)} / {item.Probability.ToString("F2", CultureInfo.InvariantCulture)}"]);

    /// <summary>
    /// fastai's <c>show_results</c>: writes a PNG grid of <paramref name="maxN"/> images evenly spaced through the data
    /// (so every class shows when the data is grouped by class), each titled with its actual and predicted class,
    /// green when right and red when wrong.
    /// </summary>
    /// <returns>The full path of the PNG written.</returns>
    public string ShowResults(int maxN, string path, int tileSize = 192)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxN, 1);
        int n = Math.Min(maxN, Items.Count);
        var chosen = Enumerable.Range(0, n).Select(i => Items[(int)((long)i * Items.Count / n)]).ToArray();
        return PredictionGrid.Save(chosen, path, tileSize, "Actual/Prediction", item => [item.Actual, item.Predicted]);
    }

    /// <summary>
    /// fastai's <c>confusion_matrix()</c>: counts indexed [actual, predicted] in the order of <see cref="ClassNames"/>.
    /// Images whose label the model does not know are left out.
    /// </summary>
    public int[][] ConfusionMatrix()
    {
        var index = ClassNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        var counts = ClassNames.Select(_ => new int[ClassNames.Count]).ToArray();
        foreach (var item in Items)
            if (index.TryGetValue(item.Actual, out int actual)) counts[actual][index[item.Predicted]]++;
        return counts;
    }

    /// <summary>
    /// fastai's <c>plot_confusion_matrix()</c>: writes a PNG heat map of <see cref="ConfusionMatrix"/>, actual classes down
    /// and predicted classes across, each cell labelled with its count.
    /// </summary>
    /// <returns>The full path of the PNG written.</returns>
    public string PlotConfusionMatrix(string path, int size = 800)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        var counts = ConfusionMatrix().Select(row => (IReadOnlyList<double>)row.Select(c => (double)c).ToArray()).ToArray();
        Visualization.ConfusionMatrixPlot.SavePng(counts, ClassNames, full, size);
        return full;
    }

    private static string FormatLoss(double loss) => double.IsPositiveInfinity(loss) ? "inf" : loss.ToString("F2", CultureInfo.InvariantCulture);

    private static Func<string> LabelReader(DataViewRowCursor cursor, DataViewSchema.Column column, string who)
    {
        if (column.Type is TextDataViewType)
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            return () =>
            {
                ReadOnlyMemory<char> value = default;
                getter(ref value);
                return value.ToString();
            };
        }

        if (column.Type is KeyDataViewType && column.Type.RawType == typeof(uint)
            && column.Annotations.Schema.GetColumnOrNull(AnnotationNames.KeyValues)?.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.Annotations.GetValue(AnnotationNames.KeyValues, ref names);
            var nameArray = names.DenseValues().Select(n => n.ToString()).ToArray();
            var getter = cursor.GetGetter<uint>(column);
            return () =>
            {
                uint key = 0;
                getter(ref key);
                return key >= 1 && key <= nameArray.Length ? nameArray[key - 1] : "(missing)";
            };
        }

        throw new ArgumentOutOfRangeException(nameof(column),
            $"{who}: label column '{column.Name}' has type {ColumnChecks.Describe(column.Type)}; expected text or a key with text key values.");
    }
}
