using Microsoft.ML;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet;

/// <summary><c>ml.Data.ShowBatch(...)</c>: fastai's <c>show_batch</c> on ML.NET data.</summary>
public static class ShowBatchCatalog
{
    /// <summary>
    /// Writes a PNG grid of the first <paramref name="maxN"/> images of a training pass over <paramref name="data"/>
    /// (shuffled and augmented as the trainer sees them), ⌊√n⌋ rows, each image titled with its label.
    /// </summary>
    /// <param name="catalog">The data catalog.</param>
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
