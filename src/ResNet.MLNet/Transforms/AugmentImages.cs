using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of <c>AugmentImages</c> (fastai's <c>aug_transforms</c> batch transform). Input: planar RGB
/// <c>[3, H, W]</c> as bytes (0..255) or floats (0..1). Output: <c>Vector&lt;Single, 3, Size, Size&gt;</c> in 0..1.
/// Training passes (cursors requested with a <see cref="Random"/>) augment randomly in batches with TorchSharp;
/// every other consumer gets the validation transform: the largest centred square resized to <c>Size</c>.
/// </summary>
public sealed class AugmentImagesEstimator : IEstimator<AugmentImagesTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly AugmentOptions _options;

    internal AugmentImagesEstimator(string outputColumnName, AugmentOptions? options, string? inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        _options = (options ?? new AugmentOptions()).Clone();
        _options.Validate();
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
    }

    /// <inheritdoc />
    public AugmentImagesTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new AugmentImagesTransformer(_outputColumnName, _inputColumnName, _options, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        ColumnChecks.PlanarShape(inputSchema, "AugmentImages", _inputColumnName, _outputColumnName);
}

/// <summary>Random batch augmentation on training passes, the validation crop otherwise (see <see cref="AugmentImagesEstimator"/>).</summary>
public sealed class AugmentImagesTransformer : ImageTransformerBase
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly AugmentOptions _options;
    private readonly bool _isByte;
    private readonly int _height;
    private readonly int _width;

    internal AugmentImagesTransformer(string outputColumnName, string inputColumnName, AugmentOptions options, IDataView input)
        : base(BuildScoring(outputColumnName, inputColumnName, options, input))
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _options = options.Clone();
        (_isByte, _height, _width) = ColumnChecks.PlanarImage(input.Schema, "AugmentImages", inputColumnName);
    }

    /// <summary>A copy of the augmentation options.</summary>
    public AugmentOptions Options => _options.Clone();

    private static ITransformer BuildScoring(string output, string inputName, AugmentOptions options, IDataView input)
    {
        var (isByte, height, width) = ColumnChecks.PlanarImage(input.Schema, "AugmentImages", inputName);
        string temporary = OnnxScoring.TemporaryName(input.Schema, output, "AugmentImages");
        var augmenter = new BatchAugmenter(options, height, width);
        var model = ImageOnnxGraphs.ValidationCrop(inputName, temporary, isByte, height, width, augmenter.ValidationGrid(),
            augmenter.OutputHeight, augmenter.OutputWidth, options);
        return OnnxScoring.Build(input, output, inputName, temporary, model);
    }

    private protected override void CheckInput(DataViewSchema schema)
    {
        var (isByte, height, width) = ColumnChecks.PlanarImage(schema, "AugmentImages", _inputColumnName);
        if (isByte != _isByte || height != _height || width != _width)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"AugmentImages: column '{_inputColumnName}' is {ColumnChecks.Describe(schema[_inputColumnName].Type)}, but the transform was fitted on " +
                $"{(_isByte ? "Byte" : "Single")} images of {_height}×{_width}.");
    }

    private protected override IDataView TransformCore(IDataView input)
    {
        var scoring = Scoring!.Transform(input);
        var augmenter = new BatchAugmenter(_options, _height, _width);
        var outputType = new VectorDataViewType(NumberDataViewType.Single, 3, augmenter.OutputHeight, augmenter.OutputWidth);
        var training = new BatchedDataView(input, [new BatchOutputColumn(_outputColumnName, outputType, IsTensor: true)], [],
            batch =>
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                batch.SetOutput(_outputColumnName,
                    augmenter.Augment(batch.InputTensor(_inputColumnName), batch.Random, batch.ComputedRows, batch.BatchRows));
            },
            _options.BatchSize, tensorDependencies: [_inputColumnName]);
        return new PassSwitchDataView(scoring, training, batchedScoring: true);
    }
}
