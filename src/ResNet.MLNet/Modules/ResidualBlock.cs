using ResNet.MLNet.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The chapter's residual block: <c>relu(convs(x) + idconv(pool(x)))</c>. The identity path is
/// AvgPool2d(2, ceil_mode) when the stride is not 1 and a 1×1 <see cref="ConvLayer"/> (no activation) when the
/// channel count changes; otherwise it is the identity. Subclasses choose the convolution path.
/// </summary>
public abstract class ResidualBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential _convs;
    private readonly AvgPool2d? _pool;
    private readonly ConvLayer? _idconv;

    /// <summary>Builds the block around <paramref name="convs"/>, which maps <paramref name="ni"/> to <paramref name="nf"/> channels with <paramref name="stride"/>.</summary>
    protected ResidualBlock(string name, Sequential convs, long ni, long nf, long stride) : base(name)
    {
        _convs = convs;
        _pool = stride == 1 ? null : nn.AvgPool2d(2, ceil_mode: true);
        _idconv = ni == nf ? null : new ConvLayer(ni, nf, kernelSize: 1, activation: false);
        register_module("convs", _convs);
        if (_idconv is not null) register_module("idconv", _idconv);
        if (_pool is not null) register_module("pool", _pool);
    }

    /// <summary>The residual branch.</summary>
    public Sequential Convs => _convs;

    /// <summary>AvgPool2d(2, ceil_mode) on the identity path, or null when the stride is 1.</summary>
    public AvgPool2d? Pool => _pool;

    /// <summary>The 1×1 conv on the identity path, or null when the channel count is unchanged.</summary>
    public ConvLayer? IdConv => _idconv;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var identity = input;
        if (_pool is not null) identity = _pool.forward(identity);
        if (_idconv is not null) identity = _idconv.forward(identity);
        return _convs.forward(input).add_(identity).relu_();
    }

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path)
    {
        var residual = context.Write(_convs, input, path + ".convs");
        var identity = input;
        if (_pool is not null) identity = context.Write(_pool, identity, path + ".pool");
        if (_idconv is not null) identity = context.Write(_idconv, identity, path + ".idconv");
        return context.Relu(context.Add(residual, identity, path));
    }
}
