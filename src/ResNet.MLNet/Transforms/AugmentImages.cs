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
internal sealed class AugmentImagesEstimator : IEstimator<AugmentImagesTransformer>
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
internal sealed class AugmentImagesTransformer : PlanarImageTransformer
{
    private const string Name = "AugmentImages";
    private readonly AugmentOptions _options;

    internal AugmentImagesTransformer(string outputColumnName, string inputColumnName, AugmentOptions options, IDataView input)
        : base(Name, outputColumnName, inputColumnName, input, columns => BuildScoring(columns, options, input))
    {
        _options = options.Clone();
    }

    private protected override int BatchSize => _options.BatchSize;

    private protected override VectorDataViewType OutputType => new(NumberDataViewType.Single, 3, _options.Size ?? Columns.Height, _options.Size ?? Columns.Width);

    private static ITransformer BuildScoring(PlanarImageColumns columns, AugmentOptions options, IDataView input)
    {
        string temporary = OnnxScoring.TemporaryName(input.Schema, columns.Output, Name);
        var augmenter = new BatchAugmenter(options, columns.Height, columns.Width);
        var model = ImageOnnxGraphs.ValidationCrop(columns.Input, temporary, columns.IsByte, columns.Height, columns.Width,
            augmenter.ValidationGrid(), augmenter.OutputHeight, augmenter.OutputWidth, options);
        return OnnxScoring.Build(input, columns.Output, columns.Input, temporary, model);
    }

    private protected override Func<TorchSharp.torch.Tensor, RowBatch, TorchSharp.torch.Tensor> CreateBatchTransform()
    {
        var augmenter = new BatchAugmenter(_options, Columns.Height, Columns.Width);
        return (images, batch) => augmenter.Augment(images, batch.Random, batch.ComputedRows, batch.BatchRows);
    }
}
