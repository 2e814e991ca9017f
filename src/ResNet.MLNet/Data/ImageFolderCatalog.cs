using Microsoft.ML;
using ResNet.MLNet.Data;

namespace ResNet.MLNet;

/// <summary>Loads image-folder datasets from <c>MLContext.Data</c>: <c>ml.Data.LoadImageFolder(root)</c>.</summary>
public static class ImageFolderCatalog
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
    public static ImageFolder LoadImageFolder(this DataOperationsCatalog catalog, string root, string? validName = "val", string trainName = "train")
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
}
