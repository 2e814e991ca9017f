using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>learn.tta</c>: scores the data once plainly (the validation transform) and <c>n</c> times with the
/// training-time augmentation, then blends: <c>lerp(mean of the augmented passes, plain, beta)</c>, or the maximum
/// over the augmented passes with <c>use_max</c>.
/// </summary>
/// <remarks>
/// The model must be a fitted pipeline whose transforms augment on training passes (<c>PresizeImages</c>' random
/// crop, <c>AugmentImages</c>): each augmented pass is a training pass over the data, read in data order. A reloaded
/// model.zip has no augmentation (stock parts score deterministically); for it, bake the flip variant into the
/// network (<c>ResNetTransformer.FlipTta</c>) or rebuild the preprocessing in memory as <c>resnet-mlnet evaluate --tta</c> does.
/// </remarks>
public static class TestTimeAugmentation
{
    /// <summary>Probabilities per row: the blended result and the passes it came from, all in class order.</summary>
    /// <param name="ClassNames">The class names (the score column's slot names).</param>
    /// <param name="Probabilities">The TTA result per row.</param>
    /// <param name="Plain">The plain (validation transform) pass per row.</param>
    /// <param name="Augmented">The mean (or maximum, with <c>UseMax</c>) over the augmented passes per row.</param>
    public sealed record Result(IReadOnlyList<string> ClassNames, IReadOnlyList<float[]> Probabilities,
        IReadOnlyList<float[]> Plain, IReadOnlyList<float[]> Augmented);

    /// <summary>Scores <paramref name="data"/> with test-time augmentation.</summary>
    /// <exception cref="ArgumentException">The model does not output the score column with class names.</exception>
    public static Result Predict(ITransformer model, IDataView data, TtaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new TtaOptions();
        options.Validate();

        var plain = Scores(model.Transform(data), options.ScoreColumnName, null, out var classNames);
        var augmented = new List<float[]>[options.Passes];
        var inOrder = new InOrderDataView(data);
        for (int pass = 0; pass < options.Passes; pass++)
        {
            augmented[pass] = Scores(model.Transform(inOrder), options.ScoreColumnName, new Random(options.Seed + pass), out _);
            if (augmented[pass].Count != plain.Count)
                throw new InvalidOperationException($"Augmented pass {pass} read {augmented[pass].Count} rows; the plain pass read {plain.Count}.");
        }

        var combined = new float[plain.Count][];
        var blended = new float[plain.Count][];
        for (int row = 0; row < plain.Count; row++)
        {
            var values = new float[classNames.Length];
            for (int c = 0; c < values.Length; c++)
            {
                float acc = options.UseMax ? float.MinValue : 0;
                for (int pass = 0; pass < options.Passes; pass++)
                    acc = options.UseMax ? MathF.Max(acc, augmented[pass][row][c]) : acc + augmented[pass][row][c];
                values[c] = options.UseMax ? acc : acc / options.Passes;
            }

            combined[row] = values;
            blended[row] = options.UseMax ? values
                : values.Select((a, c) => a + options.Beta * (plain[row][c] - a)).ToArray();
        }

        return new Result(classNames, blended, plain, combined);
    }

    private static List<float[]> Scores(IDataView scored, string scoreColumnName, Random? random, out string[] classNames)
    {
        classNames = ImagePrediction.GetClassNames(scored.Schema, scoreColumnName);
        var rows = new List<float[]>();
        var column = scored.Schema[scoreColumnName];
        using var cursor = scored.GetRowCursor([column], random);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows.Add(value.DenseValues().ToArray());
        }

        return rows;
    }
}
