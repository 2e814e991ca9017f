using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML;
using ResNet.MLNet.IO;
using ResNet.MLNet.Transforms;
using SkiaSharp;

namespace ResNet.MLNet.Visualization;

/// <summary>fastai's <c>show_batch</c>: a PNG grid of images with their labels as titles.</summary>
internal static class BatchVisualizer
{
    /// <summary>
    /// Reads the first <paramref name="maxN"/> rows of a training pass over <paramref name="data"/> (so they come
    /// shuffled and augmented exactly as the trainer sees them) and writes them to <paramref name="path"/> as a PNG grid
    /// of ⌊√n⌋ rows, each image titled with its label.
    /// </summary>
    /// <returns>The full path of the PNG written.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has an unusable type, or <paramref name="maxN"/> ≤ 0.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="data"/> has no rows.</exception>
    public static string ShowBatch(IDataView data, int maxN, string path, ShowBatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (maxN <= 0) throw new ArgumentOutOfRangeException(nameof(maxN), maxN, "ShowBatch: maxN must be > 0.");
        options ??= new ShowBatchOptions();
        if (options.TileSize < 16)
            throw new ArgumentOutOfRangeException(nameof(options), options.TileSize, "ShowBatch: TileSize must be ≥ 16 pixels.");

        var items = Read(data, maxN, options);
        try
        {
            if (items.Count == 0) throw new InvalidOperationException("ShowBatch: the data view has no rows.");
            string full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            bool titles = options.LabelColumnName is not null;
            ImageGrid.Save(items.Select(i => new ImageGrid.Tile(i.Image, titles ? [i.Title] : [], SKColors.Black)).ToList(), options.TileSize, full);
            return full;
        }
        finally
        {
            foreach (var (bitmap, _) in items) bitmap.Dispose();
        }
    }

    private static List<(SKBitmap Image, string Title)> Read(IDataView data, int maxN, ShowBatchOptions options)
    {
        var imageColumn = ColumnChecks.Find(data.Schema, "ShowBatch", options.ImageColumnName);
        var columns = new List<DataViewSchema.Column> { imageColumn };
        DataViewSchema.Column? labelColumn = null;
        if (options.LabelColumnName is not null)
        {
            labelColumn = ColumnChecks.Find(data.Schema, "ShowBatch", options.LabelColumnName);
            columns.Add(labelColumn.Value);
        }

        bool isImage = imageColumn.Type is ImageDataViewType;
        var (isByte, height, width) = isImage ? (false, 0, 0) : ColumnChecks.PlanarImage(data.Schema, "ShowBatch", options.ImageColumnName);
        using var cursor = data.GetRowCursor(columns, options.Seed is int seed ? new Random(seed) : null);
        Func<SKBitmap> readImage = isImage ? ImageReader(cursor, imageColumn)
            : isByte ? PlanarReader<byte>(cursor, imageColumn, height, width, null)
            : PlanarReader<float>(cursor, imageColumn, height, width, options.NormalizedWith);
        Func<string> readLabel = labelColumn is { } label ? LabelReader(cursor, label) : () => "";

        var items = new List<(SKBitmap, string)>();
        while (items.Count < maxN && cursor.MoveNext())
            items.Add((readImage(), readLabel()));
        return items;
    }

    private static Func<SKBitmap> ImageReader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<MLImage>(column);
        return () =>
        {
            MLImage image = null!;
            getter(ref image);
            return image is null
                ? throw new InvalidDataException($"ShowBatch: column '{column.Name}' has a missing image.")
                : ImageDecoder.ToBitmap(image);
        };
    }

    private static Func<SKBitmap> PlanarReader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, int height, int width, ImageStats? stats)
    {
        var getter = cursor.GetGetter<VBuffer<T>>(column);
        VBuffer<T> value = default;
        return () =>
        {
            getter(ref value);
            return ToBitmap(ColumnChecks.Dense(value), height, width, stats);
        };
    }

    /// <summary>Planar RGB (bytes 0..255, or floats 0..1 optionally normalised with <paramref name="stats"/>) as a bitmap.</summary>
    private static SKBitmap ToBitmap<T>(ReadOnlySpan<T> planar, int height, int width, ImageStats? stats)
    {
        int plane = height * width;
        if (planar.Length != 3 * plane)
            throw new InvalidDataException($"ShowBatch: an image has {planar.Length} values; expected {3 * plane}.");
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[4 * plane];
        for (int c = 0; c < 3; c++)
        {
            float mean = stats?.Mean[c] ?? 0, std = stats?.Std[c] ?? 1;
            for (int i = 0; i < plane; i++)
            {
                pixels[4 * i + c] = planar[c * plane + i] switch
                {
                    byte b => b,
                    float f => (byte)Math.Clamp(MathF.Round((f * std + mean) * 255f), 0, 255),
                    _ => 0,
                };
            }
        }

        for (int i = 0; i < plane; i++) pixels[4 * i + 3] = 255;
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    private static Func<string> LabelReader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type is KeyDataViewType && column.Type.RawType == typeof(uint))
        {
            var getter = cursor.GetGetter<uint>(column);
            VBuffer<ReadOnlyMemory<char>> names = default;
            bool hasNames = column.Annotations.Schema.GetColumnOrNull("KeyValues")?.Type is VectorDataViewType { ItemType: TextDataViewType };
            if (hasNames) column.Annotations.GetValue("KeyValues", ref names);
            var nameArray = hasNames ? names.DenseValues().Select(n => n.ToString()).ToArray() : [];
            return () =>
            {
                uint key = 0;
                getter(ref key);
                return key == 0 ? "(missing)" : key <= nameArray.Length ? nameArray[key - 1] : key.ToString(CultureInfo.InvariantCulture);
            };
        }

        if (column.Type is TextDataViewType)
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            return () =>
            {
                ReadOnlyMemory<char> text = default;
                getter(ref text);
                return text.ToString();
            };
        }

        if (column.Type is VectorDataViewType)
            throw new ArgumentOutOfRangeException(nameof(column), $"ShowBatch: label column '{column.Name}' is a vector; expected a single value.");
        var method = typeof(BatchVisualizer).GetMethod(nameof(ValueReader), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        return (Func<string>)method.MakeGenericMethod(column.Type.RawType).Invoke(null, [cursor, column])!;
    }

    private static Func<string> ValueReader<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<T>(column);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        };
    }
}
