using ResNet.MLNet.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// torchvision's residual blocks with torchvision's parameter names, so its state dicts load as they are:
/// <c>BasicBlock</c> (conv1 3×3 with the stride → bn1 → relu → conv2 3×3 → bn2) and <c>Bottleneck</c> (conv1 1×1 → bn1 →
/// conv2 3×3 with the stride → bn2 → conv3 1×1 to 4× the width → bn3), each added to the input — through
/// <c>downsample</c> (1×1 conv with the stride → BatchNorm) when the shape changes — then ReLU.
/// </summary>
internal sealed class TorchVisionBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly (Conv2d Conv, BatchNorm2d Norm)[] _layers;

    /// <summary>Creates a block from <paramref name="inChannels"/> channels with <paramref name="width"/> inner channels.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="width">Inner channels (output: the same for a basic block, 4× for a bottleneck).</param>
    /// <param name="stride">Stride of the block's 3×3 convolution (2 halves the resolution).</param>
    /// <param name="bottleneck">A bottleneck (ResNet-50 and deeper) rather than a basic block (ResNet-18/34).</param>
    public TorchVisionBlock(long inChannels, long width, long stride, bool bottleneck) : base(bottleneck ? "Bottleneck" : "BasicBlock")
    {
        IsBottleneck = bottleneck;
        OutChannels = bottleneck ? 4 * width : width;
        _layers = bottleneck
            ? [(Conv(inChannels, width, 1, 1), nn.BatchNorm2d(width)), (Conv(width, width, 3, stride), nn.BatchNorm2d(width)),
               (Conv(width, OutChannels, 1, 1), nn.BatchNorm2d(OutChannels))]
            : [(Conv(inChannels, width, 3, stride), nn.BatchNorm2d(width)), (Conv(width, width, 3, 1), nn.BatchNorm2d(width))];
        for (int i = 0; i < _layers.Length; i++)
        {
            register_module($"conv{i + 1}", _layers[i].Conv);
            register_module($"bn{i + 1}", _layers[i].Norm);
        }
        if (stride != 1 || inChannels != OutChannels)
        {
            Downsample = nn.Sequential(("0", Conv(inChannels, OutChannels, 1, stride)), ("1", nn.BatchNorm2d(OutChannels)));
            register_module("downsample", Downsample);
        }
    }

    /// <summary>Whether this is a bottleneck block.</summary>
    public bool IsBottleneck { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>The (convolution, BatchNorm) pairs of the residual branch, in order.</summary>
    public IReadOnlyList<(Conv2d Conv, BatchNorm2d Norm)> Layers => _layers;

    /// <summary>The identity path's 1×1 convolution and BatchNorm when the shape changes, else null.</summary>
    public Sequential? Downsample { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        for (int i = 0; i < _layers.Length; i++)
        {
            x = _layers[i].Norm.forward(_layers[i].Conv.forward(x));
            if (i < _layers.Length - 1) x = x.relu_();
        }
        var identity = Downsample is null ? input : Downsample.forward(input);
        return x.add_(identity).relu_().MoveToOuterDisposeScope();
    }

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path)
    {
        var x = input;
        for (int i = 0; i < _layers.Length; i++)
        {
            string convPath = $"{path}.conv{i + 1}";
            x = context.WriteConvNorm(_layers[i].Conv, _layers[i].Norm, x, convPath, convPath + ".bn");
            if (i < _layers.Length - 1) x = context.Relu(x);
        }
        var identity = Downsample is null ? input : context.Write(Downsample, input, path + ".downsample");
        return context.Relu(context.Add(x, identity, path));
    }

    /// <summary>
    /// The four stages <c>layer1</c> … <c>layer4</c> after a 64-channel stem: <paramref name="blocks"/>[i] blocks of width
    /// 64·2^i, the first of each stage after the first with stride 2; <paramref name="channels"/> receives the last stage's output channels.
    /// </summary>
    internal static List<(string Name, nn.Module<Tensor, Tensor> Layer)> Stages(IReadOnlyList<int> blocks, bool bottleneck, out long channels)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        channels = 64;
        for (int stage = 0; stage < blocks.Count; stage++)
        {
            long width = 64L << stage;
            var layer = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int b = 0; b < blocks[stage]; b++)
            {
                var block = new TorchVisionBlock(channels, width, b == 0 && stage > 0 ? 2 : 1, bottleneck);
                layer.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture), block));
                channels = block.OutChannels;
            }
            layers.Add(($"layer{stage + 1}", nn.Sequential(layer.ToArray())));
        }
        return layers;
    }

    /// <summary>A bias-free convolution with "same" padding and torchvision's initialisation (kaiming-normal, fan_out, ReLU).</summary>
    internal static Conv2d Conv(long inChannels, long outChannels, long kernelSize, long stride)
    {
        var conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: (kernelSize - 1) / 2, bias: false);
        using (no_grad())
            nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        return conv;
    }
}
