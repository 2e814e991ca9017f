using ResNet.MLNet.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The chapter's first residual block, <c>x + convs(x)</c> with convs = ConvLayer(nf, nf) → ConvLayer(nf, nf, no
/// activation, BatchZero). Keeps the shape, so it needs the same channel count in and out and stride 1.
/// </summary>
internal sealed class SimpleResBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential _convs;

    /// <summary>Creates a block on <paramref name="nf"/> channels.</summary>
    public SimpleResBlock(long nf) : base(nameof(SimpleResBlock))
    {
        _convs = nn.Sequential(
            ("0", new ConvLayer(nf, nf)),
            ("1", new ConvLayer(nf, nf, activation: false, norm: NormType.BatchZero)));
        register_module("convs", _convs);
    }

    /// <summary>The residual branch.</summary>
    public Sequential Convs => _convs;

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => _convs.forward(input).add_(input);

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path) =>
        context.Add(context.Write(_convs, input, path + ".convs"), input, path);
}
