namespace ResNet.MLNet.Transforms;

/// <summary>
/// Options of <c>ImageClassificationPreprocessing</c>, the chapter's data pipeline in one call (fastai's
/// <c>ImageDataLoaders.from_folder(item_tfms=Resize(presize), batch_tfms=[*aug_transforms(size, min_scale),
/// Normalize.from_stats(*imagenet_stats)])</c>). Defaults are the chapter's.
/// </summary>
public sealed record ImagePreprocessingOptions
{
    /// <summary>The text column of image paths.</summary>
    public string ImagePathColumnName { get; init; } = DefaultColumnNames.ImagePath;

    /// <summary>The text label column; it becomes a key column of the same name.</summary>
    public string LabelColumnName { get; init; } = DefaultColumnNames.Label;

    /// <summary>The normalised pixel column the trainer reads.</summary>
    public string FeatureColumnName { get; init; } = DefaultColumnNames.Pixels;

    /// <summary>Side of the presized squares (fastai's item transform <c>Resize(presize)</c>).</summary>
    public int Presize { get; init; } = Defaults.Presize;

    /// <summary>How images become squares before augmentation.</summary>
    public ResizeMethod ResizeMethod { get; init; } = Defaults.ResizeMethod;

    /// <summary>Side of the augmented training images (fastai's <c>aug_transforms(size=…)</c>).</summary>
    public int Size { get; init; } = Defaults.Size;

    /// <summary>Smallest fraction of the area a random-resized crop keeps (fastai's <c>min_scale</c>).</summary>
    public float MinScale { get; init; } = Defaults.MinScale;

    /// <summary>Channel statistics for normalisation.</summary>
    public ImageStats Normalization { get; init; } = ImageStats.ImageNet;

    /// <summary>Where each image, decoded once, is kept.</summary>
    public ImageCache Cache { get; init; } = ImageCache.InMemory;

    /// <summary>Largest width × height decoded.</summary>
    public long MaxPixels { get; init; } = ImageFilePolicy.DefaultMaxPixels;

    /// <summary>The chapter's values, which the options, the CLI and the augmenting model start from.</summary>
    internal static class Defaults
    {
        public const int Presize = 160;
        public const ResizeMethod ResizeMethod = Transforms.ResizeMethod.Crop;
        public const int Size = 128;
        public const float MinScale = 0.5f;
    }
}
