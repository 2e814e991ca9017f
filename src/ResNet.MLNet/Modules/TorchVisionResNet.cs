using ResNet.MLNet.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// torchvision's ResNet-18/34/50 with torchvision's parameter names (<c>conv1.weight</c>, <c>bn1.running_mean</c>,
/// <c>layer1.0.conv1.weight</c>, …): a 7×7 stride-2 stem, max pool and four stages of <see cref="TorchVisionBlock"/>s.
/// Its classifier is either torchvision's (<c>avgpool</c>, <c>fc</c>: a torchvision state dict loads whole) or, for
/// transfer learning, fastai's <see cref="FastaiHead"/> under <c>head</c> — fastai's <c>vision_learner</c> model: the body
/// keeps torchvision's names, so pretrained weights load into it and only <c>fc.*</c> is left out.
/// </summary>
public sealed class TorchVisionResNet : nn.Module<Tensor, Tensor>, IParameterGroups, IOnnxExportable
{
    private readonly nn.Module<Tensor, Tensor>[] _body;

    /// <summary>Creates the network.</summary>
    /// <param name="depth">18, 34 or 50.</param>
    /// <param name="classes">Outputs of the classifier.</param>
    /// <param name="fastaiHead">fastai's head (transfer learning) instead of torchvision's <c>fc</c>.</param>
    public TorchVisionResNet(int depth, int classes, bool fastaiHead) : base($"resnet{depth}")
    {
        var (blocks, bottleneck) = depth switch
        {
            18 => (new[] { 2, 2, 2, 2 }, false),
            34 => (new[] { 3, 4, 6, 3 }, false),
            50 => (new[] { 3, 4, 6, 3 }, true),
            _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "torchvision ResNets here are 18, 34 or 50 layers deep."),
        };
        Depth = depth;
        var stem = new (string, nn.Module<Tensor, Tensor>)[]
        {
            ("conv1", TorchVisionBlock.Conv(3, 64, 7, 2)), ("bn1", nn.BatchNorm2d(64)), ("relu", nn.ReLU()),
            ("maxpool", nn.MaxPool2d(3, stride: 2, padding: 1)),
        };
        var body = new List<(string, nn.Module<Tensor, Tensor>)>(stem);
        body.AddRange(TorchVisionBlock.Stages(blocks, bottleneck, out long channels));
        foreach (var (name, module) in body) register_module(name, module);
        _body = body.Select(b => b.Item2).ToArray();
        Features = channels;
        HasFastaiHead = fastaiHead;
        if (fastaiHead)
        {
            Head = FastaiHead.Create(channels, classes);
            register_module("head", Head);
        }
        else
        {
            var avgpool = nn.AdaptiveAvgPool2d(1);
            var fc = nn.Linear(channels, classes);
            Head = nn.Sequential(("avgpool", avgpool), ("flatten", nn.Flatten()), ("fc", fc));
            register_module("avgpool", avgpool);
            register_module("fc", fc);
        }
    }

    /// <summary>Whether the classifier is fastai's head (<c>head.*</c>) rather than torchvision's <c>fc</c>.</summary>
    public bool HasFastaiHead { get; }

    /// <summary>18, 34 or 50.</summary>
    public int Depth { get; }

    /// <summary>Channels the body hands to the head (512, or 2048 for ResNet-50).</summary>
    public long Features { get; }

    /// <summary>The body's modules in order: conv1, bn1, relu, maxpool, layer1 … layer4.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Body => _body;

    /// <summary>The classifier: fastai's head, or torchvision's average pool, flatten and <c>fc</c>.</summary>
    public nn.Module<Tensor, Tensor> Head { get; }

    /// <summary>
    /// fastai's parameter groups for a ResNet (<c>_resnet_split</c>): the stem with layer1 and layer2, then layer3 and
    /// layer4, then the head. Fine-tuning freezes all but the last and spreads learning rates over them.
    /// </summary>
    public IReadOnlyList<nn.Module[]> ParameterGroups => [_body[..6].Cast<nn.Module>().ToArray(), _body[6..].Cast<nn.Module>().ToArray(), [Head]];

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var module in _body) x = module.forward(x);
        return Head.forward(x).MoveToOuterDisposeScope();
    }

    OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path)
    {
        var x = context.WriteConvNorm((Conv2d)_body[0], (BatchNorm2d)_body[1], input, path + ".conv1", path + ".conv1.bn");
        foreach (var (name, module) in named_children().Take(_body.Length).Skip(2))
            x = context.Write((nn.Module<Tensor, Tensor>)module, x, $"{path}.{name}");
        return context.Write(Head, x, path + ".head");
    }
}
