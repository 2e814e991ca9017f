using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;

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
/// graph (Sub/Div) through ML.NET's <c>ApplyOnnxModel</c>; training passes compute the same operations over whole
/// channels with <see cref="TensorPrimitives"/>, a batch at a time.
/// </summary>
public sealed class NormalizeImagesTransformer : ImageTransformerBase
{
    private const int NormalizeBatch = 64;
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
        var training = new BatchedDataView(input, [new BatchOutputColumn(_outputColumnName, outputType)], [_inputColumnName],
            Normalize, NormalizeBatch);
        return new PassSwitchDataView(Scoring!.Transform(input), training);
    }

    private void Normalize(RowBatch batch)
    {
        int plane = _height * _width;
        var outputs = batch.Output<VBuffer<float>>(_outputColumnName);
        for (int i = 0; i < batch.Count; i++)
        {
            var editor = VBufferEditor.Create(ref outputs[i], 3 * plane);
            var values = editor.Values;
            if (_isByte)
            {
                var source = batch.Input<VBuffer<byte>>(_inputColumnName)[i];
                CheckLength(source.Length, 3 * plane);
                TensorPrimitives.ConvertChecked<byte, float>(ColumnChecks.Dense(source), values);
                TensorPrimitives.Divide(values, 255f, values);
            }
            else
            {
                var source = batch.Input<VBuffer<float>>(_inputColumnName)[i];
                CheckLength(source.Length, 3 * plane);
                ColumnChecks.Dense(source).CopyTo(values);
            }

            for (int c = 0; c < 3; c++)
            {
                var channel = values.Slice(c * plane, plane);
                TensorPrimitives.Subtract(channel, Stats.Mean[c], channel);
                TensorPrimitives.Divide(channel, Stats.Std[c], channel);
            }

            outputs[i] = editor.Commit();
        }
    }

    private void CheckLength(int actual, int expected)
    {
        if (actual != expected)
            throw new InvalidDataException($"NormalizeImages: a value of column '{_inputColumnName}' has {actual} values; expected {expected}.");
    }
}
