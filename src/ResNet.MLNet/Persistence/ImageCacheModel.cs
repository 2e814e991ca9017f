using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// A saved model (model.zip) whose image steps — ML.NET's <c>LoadImages → ResizeImages → ExtractPixels</c>, as
/// <c>LoadPresizedImages</c> and the explicit chain save them — are replaced by <c>LoadPresizedImages</c> with an
/// <see cref="ImageCache"/>, so scoring a folder several times (evaluation, TTA, top losses) decodes each image once,
/// or never when a store on disk already holds it. The presize method is read off the model's own resize step by
/// running it on a generated non-square image.
/// </summary>
internal static class ImageCacheModel
{
    /// <summary>
    /// The model with cached image steps, fitted on <paramref name="rows"/> (which decodes what the cache lacks), or
    /// null with the <paramref name="reason"/> when the model's image steps are not the chapter's.
    /// </summary>
    /// <param name="ml">The context.</param>
    /// <param name="model">The model.</param>
    /// <param name="rows">The rows to score.</param>
    /// <param name="pathColumnName">The rows' image path column.</param>
    /// <param name="cacheFor">The cache for the model's presize.</param>
    /// <param name="maxPixels">Largest width × height decoded.</param>
    /// <param name="reason">Why the model cannot use a cache.</param>
    public static TransformerChain<ITransformer>? TryCreate(MLContext ml, ITransformer model, IDataView rows, string pathColumnName, Func<int, ImageCache> cacheFor,
        long maxPixels, out string? reason)
    {
        var steps = ModelSteps.Of(ml, model, rows.Schema);
        reason = "the model has no LoadImages → ResizeImages → ExtractPixels steps";
        int loader = steps.Steps.ToList().FindIndex(s => s is ImageLoadingTransformer);
        if (loader < 0 || loader + 3 > steps.Steps.Count) return null;
        string? image = Added(steps, loader, c => c.Type is ImageDataViewType);
        string? resized = Added(steps, loader + 1, c => c.Type is ImageDataViewType { Height: > 0 } t && t.Height == t.Width);
        string? pixels = Added(steps, loader + 2, c => c.Type is VectorDataViewType { ItemType: var item, Dimensions: [3, var h, var w] }
            && item == NumberDataViewType.Byte && h == w && h > 0);
        if (image is null || resized is null || pixels is null) return null;
        int size = ((ImageDataViewType)steps.Schemas[loader + 2][resized].Type).Height;
        var presize = new TransformerChain<ITransformer>(steps.Steps[loader + 1], steps.Steps[loader + 2]);
        ResizeMethod? method = MethodOf(ml, presize, image, pixels, size);
        if (method is null)
        {
            reason = "its resize step is none of Crop, Pad and Squish";
            return null;
        }
        reason = null;

        int next = loader + 3;   // a step right after them that only drops the resized image has nothing left to drop
        if (next < steps.Steps.Count && DropsOnly(steps.Schemas[next], steps.Schemas[next + 1], resized)) next++;
        var before = new TransformerChain<ITransformer>(steps.Steps.Take(loader).ToArray()).Transform(rows);
        var cached = new LoadPresizedImagesEstimator(pixels, pathColumnName, size, method.Value, cacheFor(size), maxPixels).Fit(before);
        return new TransformerChain<ITransformer>([.. steps.Steps.Take(loader), cached, .. steps.Steps.Skip(next)]);
    }

    /// <summary>The one visible column step <paramref name="index"/> adds that matches, or null.</summary>
    private static string? Added(ModelSteps steps, int index, Func<DataViewSchema.Column, bool> match)
    {
        var before = steps.Schemas[index];
        var added = steps.Schemas[index + 1].Where(c => !c.IsHidden && match(c)
            && (before.GetColumnOrNull(c.Name) is not { } old || !old.Type.Equals(c.Type))).ToArray();
        return added.Length == 1 ? added[0].Name : null;
    }

    /// <summary>Which presize method gives the same pixels as <paramref name="presize"/> on a generated non-square image.</summary>
    private static ResizeMethod? MethodOf(MLContext ml, ITransformer presize, string image, string pixels, int size)
    {
        byte[] expected = PixelsOf(ml, presize, image, pixels);
        foreach (var method in Enum.GetValues<ResizeMethod>())
        {
            var candidate = Transforms.Caching.PresizeRecipe.StockPresize(pixels, image, size, method).Fit(DecodedImageRow.EmptyView(ml, image));
            if (PixelsOf(ml, candidate, image, pixels).AsSpan().SequenceEqual(expected)) return method;
        }
        return null;
    }

    private static byte[] PixelsOf(MLContext ml, ITransformer presize, string image, string pixels)
    {
        const int width = 53, height = 29;
        var bgra = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int at = (y * width + x) * 4;
                (bgra[at], bgra[at + 1], bgra[at + 2], bgra[at + 3]) = ((byte)(x * 4), (byte)(y * 8), (byte)((x * y) % 256), 255);
            }
        using var probe = MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, bgra);
        var view = ml.Data.LoadFromEnumerable([new DecodedImageRow { Image = probe }], DecodedImageRow.Definition(image));
        var output = presize.Transform(view);
        using var cursor = output.GetRowCursor([output.Schema[pixels]]);
        var getter = cursor.GetGetter<VBuffer<byte>>(output.Schema[pixels]);
        VBuffer<byte> value = default;
        cursor.MoveNext();
        getter(ref value);
        return value.DenseValues().ToArray();
    }

    private static bool DropsOnly(DataViewSchema before, DataViewSchema after, string column) =>
        after.GetColumnOrNull(column) is null && before.GetColumnOrNull(column) is not null
        && before.Where(c => !c.IsHidden && c.Name != column).Select(c => c.Name).SequenceEqual(after.Where(c => !c.IsHidden).Select(c => c.Name));
}
