using ResNet.MLNet.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>fastai's <c>AdaptiveConcatPool2d</c>: the global max pool and the global average pool concatenated, <c>[N, 2C, 1, 1]</c> (max first).</summary>
internal sealed class AdaptiveConcatPool2d : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>Creates the pooling layer.</summary>
    public AdaptiveConcatPool2d() : base(nameof(AdaptiveConcatPool2d)) { }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var max = nn.functional.adaptive_max_pool2d(input, [1, 1]);
        var mean = nn.functional.adaptive_avg_pool2d(input, [1, 1]);
        return cat([max, mean], 1).MoveToOuterDisposeScope();
    }

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path)
    {
        context.RequireImage(input, path, nameof(AdaptiveConcatPool2d));
        string max = context.AddNode("GlobalMaxPool", [input.Name]), mean = context.AddNode("GlobalAveragePool", [input.Name]);
        long channels = input.Shape[0] < 0 ? -1 : 2 * input.Shape[0];
        return new(context.AddNode("Concat", [max, mean], OnnxAttribute.Int("axis", 1)), [channels, 1, 1]);
    }
}
