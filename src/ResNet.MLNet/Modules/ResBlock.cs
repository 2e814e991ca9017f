using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The chapter's <c>ResBlock</c>: ConvLayer(ni, nf, stride) → ConvLayer(nf, nf, no activation, BatchZero) on the
/// residual branch, plus the pooling/1×1-conv identity path of <see cref="ResidualBlock"/>.
/// </summary>
public sealed class ResBlock : ResidualBlock
{
    /// <summary>Creates a block from <paramref name="ni"/> to <paramref name="nf"/> channels.</summary>
    public ResBlock(long ni, long nf, long stride = 1)
        : base(nameof(ResBlock), nn.Sequential(
            ("0", new ConvLayer(ni, nf, stride: stride)),
            ("1", new ConvLayer(nf, nf, activation: false, norm: NormType.BatchZero))), ni, nf, stride)
    {
    }
}
