using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet;

/// <summary>
/// The image transforms of fastai's chapter 14 on <c>ml.Transforms</c>: load → presize (item transform) →
/// to tensor → [cache] → augment → normalise (batch transforms).
/// </summary>
public static class ImageTransformsCatalog
{
    /// <summary>
    /// Decodes images from file paths (a text column) or encoded bytes (a Byte vector column) into an image column.
    /// Grayscale, palette, CMYK and alpha images become RGB; unreadable, empty or truncated images are errors naming the file.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The image column to create.</param>
    /// <param name="inputColumnName">The path or bytes column.</param>
    /// <param name="imageFolder">Folder that relative paths are resolved against (null: as given).</param>
    /// <param name="maxPixels">
    /// Largest width × height decoded, read from the header first (default <see cref="ImageFilePolicy.DefaultMaxPixels"/>,
    /// Pillow's limit). Applies to this library's decoding; a saved model.zip loads images with ML.NET's LoadImages.
    /// </param>
    public static IEstimator<ITransformer> LoadImageFiles(this TransformsCatalog catalog, string outputColumnName = DefaultColumnNames.Image,
        string inputColumnName = DefaultColumnNames.ImagePath, string? imageFolder = null, long maxPixels = ImageFilePolicy.DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LoadImageFilesEstimator(outputColumnName, inputColumnName, imageFolder, maxPixels);
    }

    /// <summary>
    /// fastai's <c>Resize(size, method)</c> item transform: makes every image a <paramref name="size"/>-pixel square.
    /// Crop (default) keeps a random window on training passes and the centred one when scoring.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The image column to write (the input too when <paramref name="inputColumnName"/> is null).</param>
    /// <param name="size">Side length in pixels (&gt; 0).</param>
    /// <param name="method">Crop, Pad or Squish.</param>
    /// <param name="inputColumnName">The image column to read (default: <paramref name="outputColumnName"/>).</param>
    public static IEstimator<ITransformer> PresizeImages(this TransformsCatalog catalog, string outputColumnName, int size,
        ResizeMethod method = ResizeMethod.Crop, string? inputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new PresizeImagesEstimator(outputColumnName, size, method, inputColumnName);
    }

    /// <summary>
    /// <see cref="LoadImageFiles"/> → <see cref="PresizeImages"/> → <see cref="ImagesToTensor"/> → cache checkpoint as one
    /// step: <c>Fit</c> decodes each image of its data once, on every core, into <paramref name="cache"/>, and every later
    /// pass (epochs, validation, <c>Transform</c> and <c>Evaluate</c> of the same rows) reads the stored pixels without
    /// opening a file. The pixels are the explicit chain's scoring pixels (centred presize); saved as ML.NET's stock chain.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The pixel column to create: <c>Vector&lt;Byte, 3, size, size&gt;</c>, planar RGB.</param>
    /// <param name="inputColumnName">The text column of image paths.</param>
    /// <param name="size">Side of the presized squares in pixels (fastai's <c>Resize(size)</c>).</param>
    /// <param name="method">Crop (centred), Pad or Squish.</param>
    /// <param name="cache">Where the decoded images live: <see cref="ImageCache.InMemory"/> (default) or <see cref="ImageCache.OnDisk"/>.</param>
    /// <param name="maxPixels">Largest width × height decoded (see <see cref="LoadImageFiles"/>).</param>
    public static IEstimator<ITransformer> LoadPresizedImages(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int size, ResizeMethod method = ResizeMethod.Crop, ImageCache? cache = null, long maxPixels = ImageFilePolicy.DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LoadPresizedImagesEstimator(outputColumnName, inputColumnName, size, method, cache ?? ImageCache.InMemory, maxPixels);
    }

    /// <summary>
    /// The chapter's data pipeline in one call: <c>MapValueToKey(label)</c> → <see cref="LoadPresizedImages"/> →
    /// <see cref="AugmentImages"/> → <see cref="NormalizeImages"/>. Append the trainer to the returned chain.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Column names, sizes, augmentation and cache (the chapter's defaults when null).</param>
    public static EstimatorChain<ITransformer> ImageClassificationPreprocessing(this TransformsCatalog catalog,
        ImagePreprocessingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var o = options ?? new ImagePreprocessingOptions();
        if (o.Size > o.Presize)
            throw new ArgumentOutOfRangeException(nameof(options), $"ImagePreprocessingOptions.Size ({o.Size}) must not exceed Presize ({o.Presize}).");
        string pixels = o.FeatureColumnName;
        return catalog.Conversion.MapValueToKey(o.LabelColumnName)
            .Append(catalog.LoadPresizedImages(pixels, o.ImagePathColumnName, o.Presize, o.ResizeMethod, o.Cache, o.MaxPixels))
            .Append(catalog.AugmentImages(pixels, new AugmentOptions { MinScale = o.MinScale, Size = o.Size }))
            .Append(catalog.NormalizeImages(pixels, o.Normalization));
    }

    /// <summary>Planar RGB bytes <c>Vector&lt;Byte, 3, H, W&gt;</c> (0..255) from images of a known size.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The pixel column to create.</param>
    /// <param name="inputColumnName">The image column (after <see cref="PresizeImages"/>).</param>
    public static IEstimator<ITransformer> ImagesToTensor(this TransformsCatalog catalog, string outputColumnName = DefaultColumnNames.Pixels,
        string inputColumnName = DefaultColumnNames.Image)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ImagesToTensorEstimator(outputColumnName, inputColumnName);
    }

    /// <summary>
    /// fastai's <c>aug_transforms</c>: random flip, rotation, zoom, perspective warp, random-resized-crop to
    /// <see cref="AugmentOptions.Size"/> and lighting on training passes, done in batches with TorchSharp; the
    /// largest centred square resized to <c>Size</c> otherwise. Output <c>Vector&lt;Single, 3, Size, Size&gt;</c> in 0..1.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The column to write (the input too when <paramref name="inputColumnName"/> is null).</param>
    /// <param name="options">Augmentation options (fastai's defaults when null).</param>
    /// <param name="inputColumnName">Planar pixels <c>[3, H, W]</c>, Byte 0..255 or Single 0..1 (default: <paramref name="outputColumnName"/>).</param>
    public static IEstimator<ITransformer> AugmentImages(this TransformsCatalog catalog, string outputColumnName,
        AugmentOptions? options = null, string? inputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var checkedOptions = (options ?? new AugmentOptions()).Clone();
        checkedOptions.Validate();
        return new PlanarImageEstimator(AugmentImagesTransformer.Name, outputColumnName, inputColumnName,
            (output, input, data) => new AugmentImagesTransformer(output, input, checkedOptions, data));
    }

    /// <summary>fastai's <c>Normalize.from_stats</c>: (x − mean) / std per channel; output <c>Vector&lt;Single, 3, H, W&gt;</c>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The column to write (the input too when <paramref name="inputColumnName"/> is null).</param>
    /// <param name="stats">Channel statistics (default <see cref="ImageStats.ImageNet"/>).</param>
    /// <param name="inputColumnName">Planar pixels <c>[3, H, W]</c>, Single 0..1 or Byte 0..255 (default: <paramref name="outputColumnName"/>).</param>
    public static IEstimator<ITransformer> NormalizeImages(this TransformsCatalog catalog, string outputColumnName,
        ImageStats? stats = null, string? inputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var channelStats = stats ?? ImageStats.ImageNet;
        return new PlanarImageEstimator(NormalizeImagesTransformer.Name, outputColumnName, inputColumnName,
            (output, input, data) => new NormalizeImagesTransformer(output, input, channelStats, data));
    }
}
