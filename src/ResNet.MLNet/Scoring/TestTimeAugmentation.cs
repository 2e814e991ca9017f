using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Scoring;

/// <summary>
/// fastai's <c>learn.tta</c>: scores the data once plainly (the validation transform) and <c>n</c> times with the
/// training-time augmentation, then blends: <c>lerp(mean of the augmented passes, plain, beta)</c>, or the maximum
/// over the augmented passes with <c>use_max</c>.
/// </summary>
/// <remarks>
/// The model must be a fitted pipeline whose transforms augment on training passes (<c>PresizeImages</c>' random
/// crop, <c>AugmentImages</c>): each augmented pass is a training pass over the data, read in data order. A reloaded
/// model.zip has no augmentation (stock parts score deterministically); for it, bake the flip variant into the
/// network (<c>ResNetTransformer.FlipTta</c>) or rebuild the preprocessing in memory with <see cref="WithAugmentation"/>.
/// </remarks>
public static class TestTimeAugmentation
{
    /// <summary>Probabilities per row: the blended result and the passes it came from, all in class order.</summary>
    /// <param name="ClassNames">The class names (the score column's slot names).</param>
    /// <param name="Probabilities">The TTA result per row.</param>
    /// <param name="Plain">The plain (validation transform) pass per row.</param>
    /// <param name="Augmented">The mean (or maximum, with <c>useMax</c>) over the augmented passes per row.</param>
    public sealed record Result(IReadOnlyList<string> ClassNames, IReadOnlyList<float[]> Probabilities,
        IReadOnlyList<float[]> Plain, IReadOnlyList<float[]> Augmented);

    /// <summary>fastai's default number of augmented passes (<c>n</c>).</summary>
    internal const int DefaultPasses = 4;

    /// <summary>fastai's default weight of the plain pass (<c>beta</c>).</summary>
    internal const float DefaultBeta = 0.25f;

    /// <summary>Scores <paramref name="data"/> with test-time augmentation (fastai's <c>learn.tta(n, beta, use_max)</c>).</summary>
    /// <param name="model">A fitted pipeline whose transforms augment on training passes.</param>
    /// <param name="data">The rows to score.</param>
    /// <param name="passes">Number of augmented passes (fastai's <c>n</c>).</param>
    /// <param name="beta">
    /// Weight of the plain pass: the result is <c>lerp(augmented mean, plain, beta)</c> = (1 − beta)·mean + beta·plain;
    /// 0 uses the augmented mean alone.
    /// </param>
    /// <param name="useMax">Return the element-wise maximum over the augmented passes instead (fastai's <c>use_max</c>).</param>
    /// <param name="seed">Seed of the first augmented pass; pass i uses <c>seed + i</c>.</param>
    /// <param name="scoreColumnName">The probabilities column the model outputs.</param>
    /// <exception cref="ArgumentException">The model does not output the score column with class names.</exception>
    public static Result Predict(ITransformer model, IDataView data, int passes = DefaultPasses, float beta = DefaultBeta, bool useMax = false,
        int seed = 0, string scoreColumnName = ResNetTransformer.ScoreColumnName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (passes < 1) throw new ArgumentOutOfRangeException(nameof(passes), passes, "TTA needs at least 1 augmented pass.");
        if (!(beta >= 0 && beta <= 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "TTA's beta must be between 0 and 1.");
        ArgumentException.ThrowIfNullOrWhiteSpace(scoreColumnName);

        var plain = Scores(model.Transform(data), scoreColumnName, null, out var classNames);
        var augmented = new List<float[]>[passes];
        var inOrder = new InOrderDataView(data);
        for (int pass = 0; pass < passes; pass++)
        {
            augmented[pass] = Scores(model.Transform(inOrder), scoreColumnName, new Random(seed + pass), out _);
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
                float acc = useMax ? float.MinValue : 0;
                for (int pass = 0; pass < passes; pass++)
                    acc = useMax ? MathF.Max(acc, augmented[pass][row][c]) : acc + augmented[pass][row][c];
                values[c] = useMax ? acc : acc / passes;
            }

            combined[row] = values;
            blended[row] = useMax ? values
                : values.Select((a, c) => a + beta * (plain[row][c] - a)).ToArray();
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

    /// <summary>
    /// Puts the chapter's training-time augmentation back in front of a reloaded model.zip's network, so
    /// <see cref="Predict"/> can use a model.zip (whose stock parts only score deterministically): rebuilds the contract's
    /// preprocessing in memory — <c>LoadImageFiles</c> → <c>PresizeImages(presize, Crop)</c> → <c>ImagesToTensor</c> →
    /// <c>AugmentImages(MinScale, Size)</c> → <c>NormalizeImages(stats)</c>, with the presize and the network's input size
    /// read from the model — then the model's own steps from its network on, fitted on <paramref name="data"/> (which only
    /// supplies the schema). Its scoring pass equals the model.zip's; its training passes augment as training did, provided
    /// the model was trained with that preprocessing (as <c>resnet-mlnet train</c> does, with ImageNet statistics).
    /// </summary>
    /// <param name="ml">The context.</param>
    /// <param name="model">A reloaded model.zip (or a fitted pipeline).</param>
    /// <param name="inputSchema">Its input schema (<c>Model.Load</c>'s out parameter).</param>
    /// <param name="data">Rows with the image path column.</param>
    /// <param name="minScale">aug_transforms' <c>min_scale</c> the model was trained with.</param>
    /// <param name="stats">Normalisation statistics the model was trained with; ImageNet's by default.</param>
    /// <param name="imagePathColumnName">The column with the image paths.</param>
    /// <exception cref="ArgumentException">The model does not load, presize and classify images as the contract's pipeline does.</exception>
    public static ITransformer WithAugmentation(MLContext ml, ITransformer model, DataViewSchema inputSchema, IDataView data,
        float minScale = ImagePreprocessingOptions.Defaults.MinScale, ImageStats? stats = null, string imagePathColumnName = DefaultColumnNames.ImagePath)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentNullException.ThrowIfNull(data);
        var steps = ModelSteps.Of(ml, model, inputSchema);
        var (loader, imageColumn) = steps.ImageLoader();
        int network = steps.ScoringStep(ResNetTransformer.ScoreColumnName);
        var networkInput = steps.Schemas[network];

        int presize = 0;
        for (int i = loader + 1; i <= network; i++)
            if (steps.Schemas[i].GetColumnOrNull(imageColumn)?.Type is ImageDataViewType { Height: > 0 } sized)
                presize = sized.Height == sized.Width ? sized.Height
                    : throw new ArgumentException($"The model resizes images to {sized.Width}×{sized.Height}; expected a square (PresizeImages).");
        if (presize == 0) throw new ArgumentException($"The model does not resize its image column '{imageColumn}' (no PresizeImages step).");

        var features = networkInput.Where(c => !c.IsHidden && c.Type is VectorDataViewType { ItemType: NumberDataViewType, Dimensions: [3, > 0, > 0] } v
            && v.ItemType == NumberDataViewType.Single && steps.Schemas[loader].GetColumnOrNull(c.Name) is null).ToArray();
        if (features.Length == 0) throw new ArgumentException("No image tensor column ([3, H, W] floats) reaches the model's network.");
        var feature = features[^1];
        int size = ((VectorDataViewType)feature.Type).Dimensions[1];

        var preprocessing = ml.Transforms.LoadImageFiles(imageColumn, imagePathColumnName)
            .Append(ml.Transforms.PresizeImages(imageColumn, presize, ResizeMethod.Crop))
            .Append(ml.Transforms.ImagesToTensor(feature.Name, imageColumn))
            .Append(ml.Transforms.AugmentImages(feature.Name, new AugmentOptions { MinScale = minScale, Size = size }))
            .Append(ml.Transforms.NormalizeImages(feature.Name, stats ?? ImageStats.ImageNet))
            .Fit(data);
        return new TransformerChain<ITransformer>([.. preprocessing, .. steps.From(network)]);
    }
}
