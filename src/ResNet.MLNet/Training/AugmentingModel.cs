using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Training;

/// <summary>
/// Puts the chapter's training-time augmentation back in front of a reloaded model.zip's network, so
/// <see cref="TestTimeAugmentation"/> can use a model.zip (whose stock parts only score deterministically).
/// </summary>
/// <remarks>
/// Rebuilds the contract's preprocessing in memory: <c>LoadImageFiles</c> → <c>PresizeImages(presize, Crop)</c> →
/// <c>ImagesToTensor</c> → <c>AugmentImages(MinScale, Size)</c> → <c>NormalizeImages(stats)</c>, with the presize and
/// the network's input size read from the model, then the model's own steps from its network on. Its scoring pass
/// equals the model.zip's; its training passes augment as training did, provided the model was trained with that
/// preprocessing (as <c>resnet-mlnet train</c> does, with ImageNet statistics).
/// </remarks>
public static class AugmentingModel
{
    /// <summary>Builds the augmenting model (fitted on <paramref name="data"/>, which only supplies the schema).</summary>
    /// <param name="ml">The context.</param>
    /// <param name="model">A reloaded model.zip (or a fitted pipeline).</param>
    /// <param name="inputSchema">Its input schema (<c>Model.Load</c>'s out parameter).</param>
    /// <param name="data">Rows with the image path column.</param>
    /// <param name="minScale">aug_transforms' <c>min_scale</c> the model was trained with.</param>
    /// <param name="stats">Normalisation statistics the model was trained with; ImageNet's by default.</param>
    /// <param name="imagePathColumnName">The column with the image paths.</param>
    /// <exception cref="ArgumentException">The model does not load, presize and classify images as the contract's pipeline does.</exception>
    public static ITransformer FromModel(MLContext ml, ITransformer model, DataViewSchema inputSchema, IDataView data,
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
