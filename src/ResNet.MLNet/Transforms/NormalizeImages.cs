using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// fastai's <c>Normalize.from_stats</c> (<c>ml.Transforms.NormalizeImages</c>): (x − mean) / std per channel on planar RGB
/// <c>[3, H, W]</c> values in 0..1 (bytes 0..255 are divided by 255 first); output <c>Vector&lt;Single, 3, H, W&gt;</c>.
/// Batches are computed with TorchSharp, taken
/// straight from the previous batched transform (AugmentImages) when it serves tensors; single rows and model.zip run a
/// generated ONNX graph (Sub/Div) through ML.NET's <c>ApplyOnnxModel</c>.
/// </summary>
internal sealed class NormalizeImagesTransformer : PlanarImageTransformer
{
    public const string Name = "NormalizeImages";
    private readonly ImageStats _stats;

    internal NormalizeImagesTransformer(string outputColumnName, string inputColumnName, ImageStats stats, IDataView input)
        : base(Name, outputColumnName, inputColumnName, input, columns => BuildScoring(columns, stats, input))
    {
        _stats = stats;
    }

    private protected override int BatchSize => 128;

    private protected override VectorDataViewType OutputType => new(NumberDataViewType.Single, 3, Columns.Height, Columns.Width);

    private static ITransformer BuildScoring(PlanarImageColumns columns, ImageStats stats, IDataView input)
    {
        string temporary = OnnxScoring.TemporaryName(input.Schema, columns.Output, Name);
        return OnnxScoring.Build(input, columns.Output, columns.Input, temporary,
            ImageOnnxGraphs.Normalize(columns.Input, temporary, columns.IsByte, columns.Height, columns.Width, stats));
    }

    /// <summary>(x / range − mean) / std for a whole batch, as one fused multiply-add: x · scale + shift per channel.</summary>
    private protected override Func<Tensor, RowBatch, Tensor> CreateBatchTransform()
    {
        float range = Columns.IsByte ? 255f : 1f;
        float[] scale = _stats.Std.Select(s => 1f / (range * s)).ToArray();
        float[] shift = _stats.Mean.Zip(_stats.Std, (m, s) => -m / s).ToArray();
        return (images, _) => addcmul(tensor(shift, [1, 3, 1, 1]), Columns.IsByte ? images.to_type(ScalarType.Float32) : images,
            tensor(scale, [1, 3, 1, 1]), 1);
    }
}
