using ResNet.MLNet.Onnx;
using ResNet.MLNet.Transforms;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The ImageNet-trained ResNet-18 that ML.NET's image featurizer ships (<c>StartingWeights.ImageNet()</c>), layer for layer,
/// with fastai's head for transfer learning: a 7×7 stride-2 stem that pads 3 pixels before and 2 after, a 3×3 stride-2
/// max pool that pads 1 before and none after, four stages of [2, 2, 2, 3] basic blocks (widths 64 to 512), then
/// fastai's <see cref="FastaiHead"/>. It takes images normalised like every other architecture here (ImageNet
/// statistics by default) and converts them itself to what its weights were trained on (0–255 minus
/// <see cref="WeightStats"/>' channel means); its stem reads RGB (the loader reorders the packaged BGR filters).
/// </summary>
public sealed class ImageNetResNet18 : nn.Module<Tensor, Tensor>, IParameterGroups, IOnnxExportable
{
    /// <summary>Blocks per stage.</summary>
    internal static readonly int[] Blocks = [2, 2, 2, 3];

    /// <summary>The stem convolution's ONNX padding (top, left, bottom, right).</summary>
    internal static readonly long[] StemPads = [3, 3, 2, 2];

    /// <summary>The stem max pool's ONNX padding (top, left, bottom, right).</summary>
    internal static readonly long[] PoolPads = [1, 1, 0, 0];

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly MaxPool2d _maxpool;
    private readonly Sequential[] _layers;
    private readonly float[] _adapterMean, _adapterStd;
    private readonly Tensor _inputMean, _inputStd;   // not weights: they take the input's type and device on each forward

    /// <summary>Creates the network with fresh (random) weights; <c>StartingWeights.ImageNet()</c> loads the packaged ones.</summary>
    /// <param name="classes">Outputs of the head.</param>
    /// <param name="inputStats">The statistics the pipeline normalises images with (default <see cref="ImageStats.ImageNet"/>).</param>
    public ImageNetResNet18(int classes, ImageStats? inputStats = null) : base("imagenet_resnet18")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        InputStats = inputStats ?? ImageStats.ImageNet;
        // Normalised input z = (x − m)/s becomes (x − m_w)/s_w, i.e. (z − (m_w − m)/s) / (s_w/s): one more normalisation.
        _adapterMean = [.. Enumerable.Range(0, 3).Select(c => (WeightStats.Mean[c] - InputStats.Mean[c]) / InputStats.Std[c])];
        _adapterStd = [.. Enumerable.Range(0, 3).Select(c => WeightStats.Std[c] / InputStats.Std[c])];
        _inputMean = tensor(_adapterMean).reshape(1, 3, 1, 1).DetachFromDisposeScope();
        _inputStd = tensor(_adapterStd).reshape(1, 3, 1, 1).DetachFromDisposeScope();

        _conv1 = TorchVisionBlock.Conv(3, 64, 7, 2);
        _bn1 = nn.BatchNorm2d(64);
        _maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        register_module("conv1", _conv1);
        register_module("bn1", _bn1);
        register_module("maxpool", _maxpool);
        var layers = TorchVisionBlock.Stages(Blocks, bottleneck: false, out long channels);
        foreach (var (name, layer) in layers) register_module(name, layer);
        _layers = layers.Select(l => (Sequential)l.Layer).ToArray();
        Features = channels;
        Head = FastaiHead.Create(channels, classes);
        register_module("head", Head);
    }

    /// <summary>
    /// What the packaged weights expect, on the 0..1 scale: RGB scaled to 0–255 (std 1/255) minus the channel means of
    /// the featurizer's mean image (R 123.15, G 115.90, B 103.06).
    /// </summary>
    public static ImageStats WeightStats { get; } = new([123.15163f / 255, 115.90288f / 255, 103.06262f / 255], [1 / 255f, 1 / 255f, 1 / 255f]);

    /// <summary>The statistics this network's input is normalised with.</summary>
    public ImageStats InputStats { get; }

    /// <summary>Channels the body hands to the head (512).</summary>
    public long Features { get; }

    /// <summary>The stem's convolution, BatchNorm and max pool, in order.</summary>
    internal (Conv2d Conv, BatchNorm2d Norm, MaxPool2d Pool) Stem => (_conv1, _bn1, _maxpool);

    /// <summary>The four stages <c>layer1</c> … <c>layer4</c> of <see cref="TorchVisionBlock"/>s.</summary>
    internal IReadOnlyList<Sequential> Layers => _layers;

    /// <summary>fastai's head.</summary>
    public Sequential Head { get; }

    /// <summary>fastai's ResNet split: the stem with layer1 and layer2, then layer3 and layer4, then the head.</summary>
    public IReadOnlyList<nn.Module[]> ParameterGroups => [[_conv1, _bn1, _layers[0], _layers[1]], [_layers[2], _layers[3]], [Head]];

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Head.forward(Body(ToWeightsInput(input))).MoveToOuterDisposeScope();
    }

    /// <summary>Input normalised with <see cref="InputStats"/> in the form the weights expect (<see cref="WeightStats"/>).</summary>
    internal Tensor ToWeightsInput(Tensor input) =>
        input.sub(_inputMean.to(input.dtype, input.device)).div_(_inputStd.to(input.dtype, input.device));

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inputMean.Dispose();
            _inputStd.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>The body (stem and stages) on input in the weights' own form (RGB 0–255 minus the channel means).</summary>
    internal Tensor Body(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = _bn1.forward(Trim(_conv1.forward(x), x, 7, StemPads)).relu_();
        x = Trim(_maxpool.forward(x), x, 3, PoolPads);
        foreach (var layer in _layers) x = layer.forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A stride-2 window's output padded symmetrically by the leading pad, cut to the size padding less at the end gives:
    /// the windows start at the same places, so the rows kept are exactly those of the asymmetric padding.
    /// </summary>
    private static Tensor Trim(Tensor output, Tensor input, long kernel, long[] pads)
    {
        long height = OnnxNetworkContext.PooledSize(input.shape[2], kernel, 2, pads[0], pads[2], 1, ceil: false);
        long width = OnnxNetworkContext.PooledSize(input.shape[3], kernel, 2, pads[1], pads[3], 1, ceil: false);
        return output.shape[2] == height && output.shape[3] == width ? output : output.narrow(2, 0, height).narrow(3, 0, width);
    }

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path)
    {
        var x = context.Normalize(input, _adapterMean, _adapterStd, path + ".input");
        x = context.Relu(context.WriteConvNorm(_conv1, _bn1, x, path + ".conv1", path + ".bn1", StemPads));
        x = context.WriteMaxPool(_maxpool, x, path + ".maxpool", PoolPads);
        for (int i = 0; i < _layers.Length; i++) x = context.Write(_layers[i], x, $"{path}.layer{i + 1}");
        return context.Write(Head, x, path + ".head");
    }
}
