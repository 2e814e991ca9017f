using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// fastai's <c>aug_transforms</c> batch transform (<c>ml.Transforms.AugmentImages</c>). Input: planar RGB <c>[3, H, W]</c> as
/// bytes (0..255) or floats (0..1). Output: <c>Vector&lt;Single, 3, Size, Size&gt;</c> in 0..1. Training passes (cursors
/// requested with a <see cref="Random"/>) augment randomly in batches with TorchSharp; every other consumer gets the
/// validation transform: the largest centred square resized to <c>Size</c>.
/// </summary>
internal sealed class AugmentImagesTransformer : PlanarImageTransformer
{
    public const string Name = "AugmentImages";
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
