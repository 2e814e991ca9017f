using ResNet.MLNet.Interpretation;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using SkiaSharp;

namespace ResNet.MLNet.Visualization;

/// <summary>Draws interpreted images (top losses, results) as a PNG grid, titles green when right and red when wrong.</summary>
internal static class PredictionGrid
{
    private static readonly SKColor Right = new(0, 128, 0);
    private static readonly SKColor Wrong = new(200, 0, 0);

    /// <summary>Decodes each item's image file and writes the grid; returns the PNG's full path.</summary>
    /// <exception cref="InvalidOperationException">No items.</exception>
    /// <exception cref="InvalidDataException">An image file cannot be read.</exception>
    public static string Save(IReadOnlyList<ClassificationInterpretation.Item> items, string path, int tileSize, string header,
        Func<ClassificationInterpretation.Item, string[]> title)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(tileSize, 16);
        if (items.Count == 0) throw new InvalidOperationException("There are no scored images to draw.");
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tiles = new List<ImageGrid.Tile>();
        try
        {
            foreach (var item in items)
            {
                using var image = ImageDecoder.DecodeFile(item.ImagePath);
                tiles.Add(new ImageGrid.Tile(ImageDecoder.ToBitmap(image), title(item), item.IsCorrect ? Right : Wrong));
            }

            ImageGrid.Save(tiles, tileSize, full, header);
            return full;
        }
        finally
        {
            foreach (var tile in tiles) tile.Image.Dispose();
        }
    }
}
