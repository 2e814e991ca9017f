using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet;

/// <summary>
/// A classifier's output for one image: <see cref="PredictedLabel"/> (the class name) and <see cref="Score"/> (softmax
/// probabilities in class order). Needs a pipeline ending with <c>MapKeyToValue("PredictedLabel")</c>, so the predicted
/// key is turned back into its name: <c>ml.MulticlassClassification.ImageClassification(...)</c> ends with it.
/// </summary>
public sealed class ImagePrediction
{
    /// <summary>A class name and its probability.</summary>
    /// <param name="Label">The class name.</param>
    /// <param name="Probability">Its softmax probability.</param>
    public readonly record struct ClassProbability(string Label, float Probability);

    /// <summary>The most probable class.</summary>
    public string PredictedLabel { get; set; } = "";

    /// <summary>Probability of each class, in the order of <see cref="GetClassNames"/>.</summary>
    public float[] Score { get; set; } = [];

    /// <summary>The <paramref name="k"/> most probable classes, most probable first.</summary>
    /// <param name="k">How many classes to return (at most the number of classes).</param>
    /// <param name="classNames">The class names, e.g. from <see cref="GetClassNames"/> on the engine's output schema.</param>
    public IReadOnlyList<ClassProbability> TopK(int k, IReadOnlyList<string> classNames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count != Score.Length)
            throw new ArgumentException($"{classNames.Count} class names were given for {Score.Length} scores.", nameof(classNames));
        return Enumerable.Range(0, Score.Length)
            .OrderByDescending(i => Score[i]).ThenBy(i => i)
            .Take(k)
            .Select(i => new ClassProbability(classNames[i], Score[i]))
            .ToArray();
    }

    /// <summary>
    /// Reads the class names (the <c>SlotNames</c> of the score column) from a scored schema, e.g.
    /// <c>engine.OutputSchema</c> or <c>model.GetOutputSchema(inputSchema)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The column is missing or carries no slot names.</exception>
    public static string[] GetClassNames(DataViewSchema schema, string scoreColumnName = "Score")
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(scoreColumnName)
            ?? throw new ArgumentException($"The schema has no '{scoreColumnName}' column.", nameof(scoreColumnName));
        if (column.Type is not VectorDataViewType { Size: > 0 } || !column.HasSlotNames())
            throw new ArgumentException($"Column '{scoreColumnName}' carries no class names (SlotNames annotation).", nameof(scoreColumnName));
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
