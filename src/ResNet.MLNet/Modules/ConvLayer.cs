using ResNet.MLNet.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// fastai's <c>ConvLayer</c>: Conv2d (padding (ks−1)/2, no bias) → BatchNorm2d → optional ReLU, with fastai's
/// initialisation (kaiming-uniform before a ReLU, BatchNorm weight 1 — or 0 for <see cref="NormType.BatchZero"/> —
/// and bias 1e-3).
/// </summary>
public sealed class ConvLayer : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;

    /// <summary>Creates a conv layer from <paramref name="ni"/> to <paramref name="nf"/> channels.</summary>
    public ConvLayer(long ni, long nf, long kernelSize = 3, long stride = 1, bool activation = true, NormType norm = NormType.Batch)
        : base(nameof(ConvLayer))
    {
        _conv = nn.Conv2d(ni, nf, kernelSize, stride: stride, padding: (kernelSize - 1) / 2, bias: false);
        _bn = nn.BatchNorm2d(nf, eps: 1e-5, momentum: 0.1);
        HasActivation = activation;
        using (no_grad())
        {
            if (activation) nn.init.kaiming_uniform_(_conv.weight, a: 0, nonlinearity: nn.init.NonlinearityType.ReLU);
            _bn.weight!.fill_(norm == NormType.BatchZero ? 0.0 : 1.0);
            _bn.bias!.fill_(1e-3);
        }
        register_module("conv", _conv);
        register_module("bn", _bn);
    }

    /// <summary>The convolution (no bias).</summary>
    public Conv2d Conv => _conv;

    /// <summary>The batch normalisation after the convolution.</summary>
    public BatchNorm2d Norm => _bn;

    /// <summary>Whether a ReLU follows the normalisation.</summary>
    public bool HasActivation { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var x = _bn.forward(_conv.forward(input));
        return HasActivation ? x.relu_() : x;
    }

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path)
    {
        var x = context.WriteConvNorm(_conv, _bn, input, path + ".conv", path + ".bn");
        return HasActivation ? context.Relu(x) : x;
    }
}
