using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ResNet.MLNet.Transforms.Batching;
using SkiaSharp;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of <c>PresizeImages</c> (fastai's item transform <c>Resize(size, method)</c>): makes every image a
/// <c>size</c>×<c>size</c> square so it can be batched. See <see cref="ResizeMethod"/> for what each method does on
/// training and scoring passes.
/// </summary>
internal sealed class PresizeImagesEstimator : IEstimator<PresizeImagesTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly int _size;
    private readonly ResizeMethod _method;

    internal PresizeImagesEstimator(string outputColumnName, int size, ResizeMethod method, string? inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        if (size <= 0)
            throw new ArgumentOutOfRangeException(nameof(size), size, "PresizeImages: size must be > 0 pixels.");
        if (!Enum.IsDefined(method))
            throw new ArgumentOutOfRangeException(nameof(method), method, "PresizeImages: unknown ResizeMethod.");
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
        _size = size;
        _method = method;
    }

    /// <inheritdoc />
    public PresizeImagesTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new PresizeImagesTransformer(_outputColumnName, _inputColumnName, _size, _method, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var column = ColumnChecks.FindShape(inputSchema, "PresizeImages", _inputColumnName);
        if (column.ItemType is not ImageDataViewType)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"PresizeImages: column '{_inputColumnName}' has type {column.ItemType}; expected an image column (from LoadImageFiles).");
        return PresizeImagesTransformer.StockEstimator(_outputColumnName, _inputColumnName, _size, _method).GetOutputSchema(inputSchema);
    }
}

/// <summary>
/// Resizes images to squares (see <see cref="PresizeImagesEstimator"/>). Scoring and saving use ML.NET's
/// <c>ResizeImages</c> (Crop = IsoCrop centred, Pad = IsoPad, Squish = Fill); training passes crop (or pad) at a
/// random position.
/// </summary>
internal sealed class PresizeImagesTransformer : ImageTransformerBase
{
    private const int ResizeBatch = 32;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly int _size;
    private readonly ResizeMethod _method;

    internal PresizeImagesTransformer(string outputColumnName, string inputColumnName, int size, ResizeMethod method, IDataView input)
        : base(BuildScoring(outputColumnName, inputColumnName, size, method, input))
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _size = size;
        _method = method;
    }

    /// <summary>The side length of the output squares.</summary>
    public int Size => _size;

    /// <summary>The resize method.</summary>
    public ResizeMethod Method => _method;

    internal static ImageResizingEstimator StockEstimator(string output, string input, int size, ResizeMethod method) =>
        new MLContext().Transforms.ResizeImages(output, size, size, input, method switch
        {
            ResizeMethod.Pad => ImageResizingEstimator.ResizingKind.IsoPad,
            ResizeMethod.Squish => ImageResizingEstimator.ResizingKind.Fill,
            _ => ImageResizingEstimator.ResizingKind.IsoCrop,
        }, ImageResizingEstimator.Anchor.Center);

    private static ITransformer BuildScoring(string output, string inputName, int size, ResizeMethod method, IDataView input)
    {
        ColumnChecks.Image(input.Schema, "PresizeImages", inputName);
        return StockEstimator(output, inputName, size, method).Fit(input);
    }

    private protected override void CheckInput(DataViewSchema schema) => ColumnChecks.Image(schema, "PresizeImages", _inputColumnName);

    private protected override IDataView TransformCore(IDataView input)
    {
        var scoring = Scoring!.Transform(input);
        if (_method == ResizeMethod.Squish) return scoring;
        var training = new BatchedDataView(input, [new BatchOutputColumn(_outputColumnName, new ImageDataViewType(_size, _size))],
            [_inputColumnName], RandomResize, ResizeBatch);
        return new PassSwitchDataView(scoring, training);
    }

    private void RandomResize(RowBatch batch)
    {
        var sources = batch.Input<MLImage>(_inputColumnName);
        var outputs = batch.Output<MLImage>(_outputColumnName);
        var random = batch.Random!;
        var positions = new (double X, double Y)[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            outputs[i]?.Dispose();
            positions[i] = (random.NextDouble(), random.NextDouble());
        }

        Parallelism.For(batch.Count, i => outputs[i] = Resize(sources[i], positions[i].X, positions[i].Y));
    }

    /// <summary>
    /// fastai's training-time Resize: Crop scales the image to cover the square and keeps the window at relative
    /// position (<paramref name="px"/>, <paramref name="py"/>); Pad scales it to fit and places it at that relative
    /// position, filling the rest by reflection.
    /// </summary>
    internal MLImage Resize(MLImage source, double px, double py)
    {
        if (source is null)
            throw new InvalidDataException($"PresizeImages: column '{_inputColumnName}' has a missing image.");
        using var bitmap = ImageDecoder.ToBitmap(source);
        int w = bitmap.Width, h = bitmap.Height, size = _size;
        using var target = new SKBitmap(size, size, isOpaque: true);
        using (var canvas = new SKCanvas(target))
        using (var paint = new SKPaint { FilterQuality = SKFilterQuality.High })
        {
            if (_method == ResizeMethod.Crop)
            {
                float aspect = Math.Max((float)size / w, (float)size / h);
                int dw = (int)(w * aspect), dh = (int)(h * aspect);
                int dx = -(int)(px * (dw - size)), dy = -(int)(py * (dh - size));
                canvas.DrawBitmap(bitmap, new SKRect(0, 0, w, h), new SKRect(dx, dy, dx + dw, dy + dh), paint);
            }
            else
            {
                float aspect = Math.Min((float)size / w, (float)size / h);
                int dw = Math.Max(1, (int)(w * aspect)), dh = Math.Max(1, (int)(h * aspect));
                int dx = (int)(px * (size - dw)), dy = (int)(py * (size - dh));
                var local = SKMatrix.CreateScaleTranslation((float)dw / w, (float)dh / h, dx, dy);
                using var shader = SKShader.CreateBitmap(bitmap, SKShaderTileMode.Mirror, SKShaderTileMode.Mirror, local);
                paint.Shader = shader;
                canvas.DrawRect(0, 0, size, size, paint);
            }
        }

        return ImageDecoder.ToMLImage(target, $"column '{_inputColumnName}'");
    }
}
