using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The bottleneck residual block of the ResNet-50-style model: ConvLayer(ni, nf/4, 1) → ConvLayer(nf/4, nf/4, 3,
/// stride) → ConvLayer(nf/4, nf, 1, no activation, BatchZero), plus the identity path of <see cref="ResidualBlock"/>.
/// </summary>
internal sealed class Bottleneck : ResidualBlock
{
    /// <summary>Creates a bottleneck block from <paramref name="ni"/> to <paramref name="nf"/> channels.</summary>
    public Bottleneck(long ni, long nf, long stride = 1)
        : base(nameof(Bottleneck), nn.Sequential(
            ("0", new ConvLayer(ni, nf / 4, kernelSize: 1)),
            ("1", new ConvLayer(nf / 4, nf / 4, stride: stride)),
            ("2", new ConvLayer(nf / 4, nf, kernelSize: 1, activation: false, norm: NormType.BatchZero))), ni, nf, stride)
    {
    }
}
