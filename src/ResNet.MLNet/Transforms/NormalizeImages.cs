using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of <c>NormalizeImages</c> (fastai's <c>Normalize.from_stats</c>): (x − mean) / std per channel on
/// planar RGB <c>[3, H, W]</c> values in 0..1 (bytes 0..255 are divided by 255 first). Output:
/// <c>Vector&lt;Single, 3, H, W&gt;</c>.
/// </summary>
public sealed class NormalizeImagesEstimator : IEstimator<NormalizeImagesTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly ImageStats _stats;

    internal NormalizeImagesEstimator(string outputColumnName, ImageStats? stats, string? inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
        _stats = stats ?? ImageStats.ImageNet;
    }

    /// <inheritdoc />
    public NormalizeImagesTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new NormalizeImagesTransformer(_outputColumnName, _inputColumnName, _stats, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        ColumnChecks.PlanarShape(inputSchema, "NormalizeImages", _inputColumnName, _outputColumnName);
}

/// <summary>
/// Per-channel normalisation (see <see cref="NormalizeImagesEstimator"/>). Scoring and saving run a generated ONNX
/// graph (Sub/Div) through ML.NET's <c>ApplyOnnxModel</c>; training passes compute the same operations with TorchSharp on
/// a whole batch tensor, taken straight from the previous batched transform (AugmentImages) when it serves tensors.
/// </summary>
public sealed class NormalizeImagesTransformer : ImageTransformerBase
{
    private const int NormalizeBatch = 128;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly bool _isByte;
    private readonly int _height;
    private readonly int _width;

    internal NormalizeImagesTransformer(string outputColumnName, string inputColumnName, ImageStats stats, IDataView input)
        : base(BuildScoring(outputColumnName, inputColumnName, stats, input))
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        Stats = stats;
        (_isByte, _height, _width) = ColumnChecks.PlanarImage(input.Schema, "NormalizeImages", inputColumnName);
    }

    /// <summary>The channel statistics.</summary>
    public ImageStats Stats { get; }

    private static ITransformer BuildScoring(string output, string inputName, ImageStats stats, IDataView input)
    {
        var (isByte, height, width) = ColumnChecks.PlanarImage(input.Schema, "NormalizeImages", inputName);
        string temporary = OnnxScoring.TemporaryName(input.Schema, output, "NormalizeImages");
        return OnnxScoring.Build(input, output, inputName, temporary, ImageOnnxGraphs.Normalize(inputName, temporary, isByte, height, width, stats));
    }

    private protected override void CheckInput(DataViewSchema schema)
    {
        var (isByte, height, width) = ColumnChecks.PlanarImage(schema, "NormalizeImages", _inputColumnName);
        if (isByte != _isByte || height != _height || width != _width)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"NormalizeImages: column '{_inputColumnName}' is {ColumnChecks.Describe(schema[_inputColumnName].Type)}, but the transform was fitted on " +
                $"{(_isByte ? "Byte" : "Single")} images of {_height}×{_width}.");
    }

    private protected override IDataView TransformCore(IDataView input)
    {
        var outputType = new VectorDataViewType(NumberDataViewType.Single, 3, _height, _width);
        var training = new BatchedDataView(input, [new BatchOutputColumn(_outputColumnName, outputType, IsTensor: true)], [],
            Normalize, NormalizeBatch, tensorDependencies: [_inputColumnName]);
        return new PassSwitchDataView(Scoring!.Transform(input), training, batchedScoring: true);
    }

    /// <summary>(x / range − mean) / std for a whole batch, as one fused multiply-add: x · scale + shift per channel.</summary>
    private void Normalize(RowBatch batch)
    {
        using var scope = NewDisposeScope();
        float range = _isByte ? 255f : 1f;
        var scale = tensor(Stats.Std.Select(s => 1f / (range * s)).ToArray(), [1, 3, 1, 1]);
        var shift = tensor(Stats.Mean.Zip(Stats.Std, (m, s) => -m / s).ToArray(), [1, 3, 1, 1]);
        var x = batch.InputTensor(_inputColumnName);
        batch.SetOutput(_outputColumnName, addcmul(shift, _isByte ? x.to_type(ScalarType.Float32) : x, scale, 1));
    }
}
