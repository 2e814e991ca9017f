using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet;

/// <summary>
/// Image data on <c>MLContext.Data</c>: <c>ml.Data.LoadImageFolder(root)</c> loads an image-folder dataset and
/// <c>ml.Data.ShowBatch(...)</c> draws a batch of it (fastai's <c>ImageDataLoaders.from_folder</c> and <c>show_batch</c>).
/// </summary>
public static class ImageDataCatalog
{
    /// <summary>
    /// Reads <c>root/train/&lt;class&gt;/*</c> and <c>root/val/&lt;class&gt;/*</c> into an <see cref="ImageFolder"/>
    /// whose <c>All</c> view has the columns <c>ImagePath</c>, <c>Label</c> and <c>IsValid</c>
    /// (fastai's <c>get_image_files</c> + <c>parent_label</c> + <c>GrandparentSplitter</c>).
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="root">The dataset folder.</param>
    /// <param name="validName">Name of the validation folder; null when there is none.</param>
    /// <param name="trainName">Name of the training folder.</param>
    public static ImageFolder LoadImageFolder(this DataOperationsCatalog catalog, string root, string? validName = ImageFolder.Defaults.ValidName, string trainName = ImageFolder.Defaults.TrainName)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return ImageFolder.Load(root, validName, trainName);
    }

    /// <summary>
    /// Reads <c>root/&lt;class&gt;/*</c> (no train/val folders) into an <see cref="ImageFolder"/>, setting aside
    /// <paramref name="validFraction"/> of each class at random (seeded) as the validation set.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="root">The dataset folder.</param>
    /// <param name="validFraction">Fraction of each class used for validation, in [0, 1).</param>
    /// <param name="seed">Seed of the random split.</param>
    public static ImageFolder LoadImageFolder(this DataOperationsCatalog catalog, string root, double validFraction, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return ImageFolder.LoadRandomSplit(root, validFraction, seed);
    }

    /// <summary>
    /// Writes a PNG grid of the first <paramref name="maxN"/> images of a training pass over <paramref name="data"/>
    /// (shuffled and augmented as the trainer sees them), ⌊√n⌋ rows, each image titled with its label.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="data">Transformed data with a pixel (or image) column and a label column.</param>
    /// <param name="maxN">Number of images.</param>
    /// <param name="path">The PNG file to write.</param>
    /// <param name="options">Column names, seed, normalisation to undo, tile size.</param>
    /// <returns>The full path of the PNG written.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has an unusable type, or <paramref name="maxN"/> ≤ 0.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="data"/> has no rows.</exception>
    public static string ShowBatch(this DataOperationsCatalog catalog, IDataView data, int maxN, string path, ShowBatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return BatchVisualizer.ShowBatch(data, maxN, path, options);
    }
}
