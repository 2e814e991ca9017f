using System.Security.Cryptography;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// How a stored image is made from its file: decoded as <c>LoadImageFiles</c> decodes it, then ML.NET's own
/// <c>ResizeImages</c> and <c>ExtractPixels</c> as <c>PresizeImages</c> and <c>ImagesToTensor</c> run them when
/// scoring, so stored pixels equal the explicit chain's by construction.
/// </summary>
internal sealed class PresizeRecipe
{
    private readonly long _maxPixels;
    private readonly IRowToRowMapper _resizeAndExtract;
    private readonly DataViewSchema _loadedSchema;

    public PresizeRecipe(int size, ResizeMethod method, long maxPixels)
    {
        Size = size;
        Method = method;
        _maxPixels = maxPixels;
        var source = new ImageFolderDataView([]);
        var loaded = new MLContext().Transforms.LoadImages(DefaultColumnNames.Image, null, DefaultColumnNames.ImagePath).Fit(source).Transform(source);
        _loadedSchema = loaded.Schema;
        var chain = StockPresize(DefaultColumnNames.Pixels, DefaultColumnNames.Image, size, method).Fit(loaded);
        _resizeAndExtract = ((ITransformer)chain).GetRowToRowMapper(loaded.Schema);
        Identity = $"decode: SkiaSharp {typeof(SkiaSharp.SKCodec).Assembly.GetName().Version}; presize: ML.NET {typeof(ImageResizingTransformer).Assembly.GetName().Version} " +
            $"ResizeImages {size}x{size} {method}; layout: planar RGB bytes";
        Tag = $"presize{size}-{method.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Identity)))[..8]}";
    }

    /// <summary>
    /// ML.NET's <c>ResizeImages</c> (in place on <paramref name="image"/>) → <c>ExtractPixels</c> into planar bytes
    /// <paramref name="pixels"/>: the presize every form of this library's decode-once step runs and saves.
    /// </summary>
    public static EstimatorChain<Microsoft.ML.Transforms.Image.ImagePixelExtractingTransformer> StockPresize(string pixels, string image, int size,
        ResizeMethod method) =>
        PresizeImagesTransformer.StockEstimator(image, image, size, method).Append(ImagesToTensorTransformer.StockEstimator(pixels, image));

    /// <summary>The side of the stored squares.</summary>
    public int Size { get; }

    /// <summary>The presize method.</summary>
    public ResizeMethod Method { get; }

    /// <summary>Bytes of one stored image: planar RGB.</summary>
    public int ImageBytes => 3 * Size * Size;

    /// <summary>Everything the stored pixels depend on; a store serves only its own recipe.</summary>
    public string Identity { get; }

    /// <summary>A short file-name-safe name for the recipe.</summary>
    public string Tag { get; }

    /// <summary>
    /// Decodes <paramref name="paths"/>[i] into <paramref name="target"/>'s slot <paramref name="slots"/>[i] on every core;
    /// <paramref name="done"/>[i] turns true when its slot is complete. Stops at the first failure or on cancellation.
    /// </summary>
    public void DecodeInto(IReadOnlyList<string> paths, IReadOnlyList<long> slots, PixelSlots target, bool[] done,
        Action onImage, CancellationToken cancellationToken)
    {
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, paths.Count, options, () => new Worker(this), (i, state, worker) =>
            {
                if (state.ShouldExitCurrentIteration) return worker;
                worker.Decode(paths[i], target[slots[i]]);
                done[i] = true;
                onImage();
                return worker;
            }, worker => worker.Dispose());
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>One thread's row through the stock resize and pixel extraction.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly SourceImageRow _input;
        private readonly DataViewRow _output;
        private readonly ValueGetter<VBuffer<byte>> _pixels;
        private readonly long _maxPixels;
        private VBuffer<byte> _buffer;

        public Worker(PresizeRecipe recipe)
        {
            _maxPixels = recipe._maxPixels;
            _input = new SourceImageRow(recipe._loadedSchema, recipe._loadedSchema[DefaultColumnNames.Image]);
            var mapper = recipe._resizeAndExtract;
            var pixels = mapper.OutputSchema[DefaultColumnNames.Pixels];
            _output = mapper.GetRow(_input, [pixels]);
            _pixels = _output.GetGetter<VBuffer<byte>>(pixels);
        }

        public void Decode(string path, Span<byte> slot)
        {
            _input.Set(ImageDecoder.DecodeFile(path, _maxPixels));
            DecodeMetrics.AddDecoded(1);
            _pixels(ref _buffer);
            var values = _buffer.GetValues();
            if (values.Length != slot.Length)
                throw new InvalidDataException($"Presizing image file '{path}' gave {values.Length} values; expected {slot.Length}.");
            values.CopyTo(slot);
        }

        public void Dispose()
        {
            _output.Dispose();
            _input.Dispose();
        }
    }

    /// <summary>A row holding one decoded image, the input of the stock mapper; each new image is a new position.</summary>
    private sealed class SourceImageRow(DataViewSchema schema, DataViewSchema.Column image) : DataViewRow
    {
        private MLImage? _image;
        private long _position = -1;

        public override DataViewSchema Schema => schema;
        public override long Position => _position;
        public override long Batch => 0;

        public void Set(MLImage image)
        {
            _image?.Dispose();
            _image = image;
            _position++;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => column.Index == image.Index;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            column.Index == image.Index && typeof(TValue) == typeof(MLImage)
                ? (ValueGetter<TValue>)(Delegate)(ValueGetter<MLImage>)((ref MLImage value) => value = _image!)
                : throw new InvalidOperationException($"Only column '{image.Name}' is available here.");

        protected override void Dispose(bool disposing)
        {
            if (disposing) _image?.Dispose();
            _image = null;
            base.Dispose(disposing);
        }
    }
}
