using ResNet.MLNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// Walks a TorchSharp module tree and appends the equivalent ONNX nodes to an <see cref="OnnxGraphBuilder"/>,
/// using eval-mode semantics (BatchNorm running statistics). Tracks the per-sample shape ([C, H, W] or [F], −1 for a
/// size only known at run time) so mismatches surface here with the module's path.
/// </summary>
internal sealed class OnnxNetworkWriter(OnnxGraphBuilder graph, bool foldBatchNorm)
{
    /// <summary>A graph value and its per-sample shape (batch dimension excluded).</summary>
    internal readonly record struct Value(string Name, long[] Shape);

    public Value Write(nn.Module<Tensor, Tensor> module, Value input, string path = "model")
    {
        switch (module)
        {
            case Sequential sequential: return WriteSequential(sequential, input, path);
            case ConvLayer layer:
                {
                    var x = foldBatchNorm
                        ? WriteConv(layer.Conv, layer.Norm, input, path + ".conv")
                        : WriteBatchNorm(layer.Norm, WriteConv(layer.Conv, null, input, path + ".conv"), path + ".bn");
                    return layer.HasActivation ? Unary("Relu", x) : x;
                }
            case ResidualBlock block:
                {
                    var residual = Write(block.Convs, input, path + ".convs");
                    var identity = input;
                    if (block.Pool is not null) identity = WriteAvgPool(block.Pool, identity, path + ".pool");
                    if (block.IdConv is not null) identity = Write(block.IdConv, identity, path + ".idconv");
                    return Unary("Relu", Add(residual, identity, path));
                }
            case SimpleResBlock simple: return Add(Write(simple.Convs, input, path + ".convs"), input, path);
            case TorchVisionResNet network: return WriteTorchVisionResNet(network, input, path);
            case TorchVisionBlock block:
                {
                    var x = input;
                    for (int i = 0; i < block.Layers.Count; i++)
                    {
                        var (conv, norm) = block.Layers[i];
                        x = WriteConvNorm(conv, norm, x, $"{path}.conv{i + 1}");
                        if (i < block.Layers.Count - 1) x = Unary("Relu", x);
                    }
                    var identity = block.Downsample is null ? input : Write(block.Downsample, input, path + ".downsample");
                    return Unary("Relu", Add(x, identity, path));
                }
            case AdaptiveConcatPool2d: return WriteAdaptiveConcatPool(input, path);
            case BatchNorm1d norm: return WriteBatchNorm1d(norm, input, path);
            case Conv2d conv: return WriteConv(conv, null, input, path);
            case BatchNorm2d norm: return WriteBatchNorm(norm, input, path);
            case ReLU: return Unary("Relu", input);
            case MaxPool2d pool: return WriteMaxPool(pool, input, path);
            case AvgPool2d pool: return WriteAvgPool(pool, input, path);
            case AdaptiveAvgPool2d pool: return WriteAdaptiveAvgPool(pool, input, path);
            case Flatten flatten: return WriteFlatten(flatten, input, path);
            case Linear linear: return WriteLinear(linear, input, path);
            case Identity or Dropout or Dropout2d: return input;
            default:
                throw new NotSupportedException(
                    $"ONNX export does not support module '{path}' of type {module.GetType().FullName}. Supported: Sequential, " +
                    "ConvLayer, ResBlock, Bottleneck, SimpleResBlock, TorchVisionResNet, TorchVisionBlock, Conv2d, BatchNorm2d, " +
                    "BatchNorm1d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), AdaptiveConcatPool2d, Flatten, Linear, Identity, Dropout.");
        }
    }

    private Value WriteTorchVisionResNet(TorchVisionResNet network, Value input, string path)
    {
        var body = network.named_children().Take(network.Body.Count).ToList();
        var x = WriteConvNorm((Conv2d)body[0].module, (BatchNorm2d)body[1].module, input, path + ".conv1");
        foreach (var (name, module) in body.Skip(2))
            x = Write((nn.Module<Tensor, Tensor>)module, x, $"{path}.{name}");
        return Write(network.Head, x, path + ".head");
    }

    /// <summary>A convolution followed by BatchNorm: one Conv node when folding, else Conv then BatchNormalization.</summary>
    private Value WriteConvNorm(Conv2d conv, BatchNorm2d norm, Value input, string path) =>
        foldBatchNorm ? WriteConv(conv, norm, input, path) : WriteBatchNorm(norm, WriteConv(conv, null, input, path), path + ".bn");

    private Value WriteAdaptiveConcatPool(Value input, string path)
    {
        RequireRank(input, 3, path, "AdaptiveConcatPool2d");
        string max = graph.AddNode("GlobalMaxPool", [input.Name]), mean = graph.AddNode("GlobalAveragePool", [input.Name]);
        return new(graph.AddNode("Concat", [max, mean], OnnxAttribute.Int("axis", 1)), [input.Shape[0] < 0 ? -1 : 2 * input.Shape[0], 1, 1]);
    }

    /// <summary>Eval-mode BatchNorm1d on [features] as x·scale + shift (Mul, Add).</summary>
    private Value WriteBatchNorm1d(BatchNorm1d norm, Value input, string path)
    {
        if (input.Shape.Length != 1)
            throw new NotSupportedException($"BatchNorm1d '{path}' receives a [{Format(input.Shape)}] tensor per sample; ONNX export supports it on [features].");
        if (input.Shape[0] >= 0 && input.Shape[0] != norm.num_features)
            throw new InvalidOperationException($"BatchNorm1d '{path}' expects {norm.num_features} features but receives {input.Shape[0]}.");
        if (norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException($"BatchNorm1d '{path}' does not track running statistics, so it has no eval-mode form to export.");
        using var scope = torch.NewDisposeScope();
        var (scale, shift) = Affine(norm.running_mean, norm.running_var, norm.weight, norm.bias, norm.eps);
        string scaled = graph.AddNode("Mul", [input.Name, graph.AddInitializer(graph.UniqueName(path + ".scale"), ToFloats(scale), scale.shape)]);
        return new(graph.AddNode("Add", [scaled, graph.AddInitializer(graph.UniqueName(path + ".shift"), ToFloats(shift), shift.shape)]), input.Shape);
    }

    private Value WriteSequential(Sequential sequential, Value input, string path)
    {
        var children = sequential.named_children().ToList();
        var x = input;
        for (int i = 0; i < children.Count; i++)
        {
            var (name, child) = children[i];
            string childPath = $"{path}.{name}";
            if (child is not nn.Module<Tensor, Tensor> typed)
                throw new NotSupportedException($"ONNX export needs tensor-to-tensor modules; '{childPath}' is a {child.GetType().FullName}.");
            // A BatchNorm2d right after a Conv2d folds into it, as inside ConvLayer.
            if (foldBatchNorm && typed is Conv2d conv && i + 1 < children.Count && children[i + 1].module is BatchNorm2d norm)
            {
                x = WriteConv(conv, norm, x, childPath);
                i++;
                continue;
            }
            x = Write(typed, x, childPath);
        }
        return x;
    }

    private Value Unary(string opType, Value x) => new(graph.AddNode(opType, [x.Name]), x.Shape);

    private Value Add(Value a, Value b, string path)
    {
        if (!ShapesMatch(a.Shape, b.Shape))
            throw new InvalidOperationException(
                $"Residual block '{path}' adds shapes [{Format(a.Shape)}] and [{Format(b.Shape)}], which differ.");
        return new(graph.AddNode("Add", [a.Name, b.Name]), Merge(a.Shape, b.Shape));
    }

    private Value WriteConv(Conv2d conv, BatchNorm2d? norm, Value input, string path)
    {
        RequireRank(input, 3, path, "Conv2d");
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"Conv2d '{path}' uses padding mode {conv.padding_mode}; ONNX export supports zero padding only.");
        if (input.Shape[0] >= 0 && input.Shape[0] != conv.in_channels)
            throw new InvalidOperationException($"Conv2d '{path}' expects {conv.in_channels} channels but receives {input.Shape[0]}.");
        long[] kernel = conv.kernel_size, stride = conv.stride, dilation = conv.dilation;
        long[] pads = ConvPadding(conv, path);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var weight = conv.weight.detach().cpu().to_type(ScalarType.Float64);
        var bias = conv.bias?.detach().cpu().to_type(ScalarType.Float64);
        if (norm is not null)
        {
            var (scale, shift) = BatchNormAffine(norm, path);
            weight = weight * scale.reshape(-1, 1, 1, 1);
            bias = bias is null ? shift : bias * scale + shift;
        }
        string w = graph.AddInitializer(graph.UniqueName(path + ".weight"), ToFloats(weight), weight.shape);
        var inputs = new List<string> { input.Name, w };
        if (bias is not null) inputs.Add(graph.AddInitializer(graph.UniqueName(path + ".bias"), ToFloats(bias), bias.shape));
        var output = graph.AddNode("Conv", inputs,
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", pads[0], pads[1], pads[0], pads[1]),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Int("group", conv.groups));
        long h = PooledSize(input.Shape[1], kernel[0], stride[0], pads[0], dilation[0], ceil: false);
        long wd = PooledSize(input.Shape[2], kernel[1], stride[1], pads[1], dilation[1], ceil: false);
        return new(output, [conv.out_channels, h, wd]);
    }

    private static long[] ConvPadding(Conv2d conv, string path)
    {
        if (conv.padding is { Length: 2 } explicitPads) return explicitPads;
        if (conv.padding_type == Padding.Valid) return [0, 0];
        if (conv.padding_type == Padding.Same)
        {
            long[] pads = new long[2];
            for (int i = 0; i < 2; i++)
            {
                long total = conv.dilation[i] * (conv.kernel_size[i] - 1);
                if (total % 2 != 0)
                    throw new NotSupportedException($"Conv2d '{path}' uses padding 'same' with an even kernel, which pads unevenly; export needs symmetric padding.");
                pads[i] = total / 2;
            }
            return pads;
        }
        throw new NotSupportedException($"Conv2d '{path}' has a padding configuration ONNX export does not understand.");
    }

    /// <summary>Eval-mode BatchNorm as y = x·scale + shift per channel (float64).</summary>
    private static (Tensor Scale, Tensor Shift) BatchNormAffine(BatchNorm2d norm, string path)
    {
        if (norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException(
                $"BatchNorm2d '{path}' does not track running statistics, so it has no eval-mode form to export.");
        return Affine(norm.running_mean, norm.running_var, norm.weight, norm.bias, norm.eps);
    }

    private static (Tensor Scale, Tensor Shift) Affine(Tensor runningMean, Tensor runningVar, Tensor? weight, Tensor? bias, double eps)
    {
        var mean = runningMean.detach().cpu().to_type(ScalarType.Float64);
        var variance = runningVar.detach().cpu().to_type(ScalarType.Float64);
        var gamma = weight is null ? torch.ones_like(mean) : weight.detach().cpu().to_type(ScalarType.Float64);
        var beta = bias is null ? torch.zeros_like(mean) : bias.detach().cpu().to_type(ScalarType.Float64);
        var scale = gamma / torch.sqrt(variance + eps);
        return (scale, beta - mean * scale);
    }

    private Value WriteBatchNorm(BatchNorm2d norm, Value input, string path)
    {
        RequireRank(input, 3, path, "BatchNorm2d");
        if (input.Shape[0] >= 0 && input.Shape[0] != norm.num_features)
            throw new InvalidOperationException($"BatchNorm2d '{path}' expects {norm.num_features} channels but receives {input.Shape[0]}.");
        if (norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException(
                $"BatchNorm2d '{path}' does not track running statistics, so it has no eval-mode form to export.");
        using var scope = torch.NewDisposeScope();
        var mean = norm.running_mean.detach().cpu();
        string Param(string suffix, Tensor t) => graph.AddInitializer(graph.UniqueName(path + suffix), ToFloats(t), t.shape);
        string scale = Param(".weight", norm.weight is null ? torch.ones_like(mean) : norm.weight.detach().cpu());
        string shift = Param(".bias", norm.bias is null ? torch.zeros_like(mean) : norm.bias.detach().cpu());
        string runningMean = Param(".running_mean", mean);
        string runningVar = Param(".running_var", norm.running_var.detach().cpu());
        var output = graph.AddNode("BatchNormalization", [input.Name, scale, shift, runningMean, runningVar],
            OnnxAttribute.Float("epsilon", (float)norm.eps));
        return new(output, input.Shape);
    }

    private Value WriteMaxPool(MaxPool2d pool, Value input, string path)
    {
        RequireRank(input, 3, path, "MaxPool2d");
        long[] kernel = Pair(pool.kernel_size), stride = Pair(pool.stride ?? pool.kernel_size);
        long[] pads = Pair(pool.padding ?? [0]), dilation = Pair(pool.dilation ?? [1]);
        var output = graph.AddNode("MaxPool", [input.Name],
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", pads[0], pads[1], pads[0], pads[1]),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0));
        return new(output, [input.Shape[0],
            PooledSize(input.Shape[1], kernel[0], stride[0], pads[0], dilation[0], pool.ceil_mode),
            PooledSize(input.Shape[2], kernel[1], stride[1], pads[1], dilation[1], pool.ceil_mode)]);
    }

    private Value WriteAvgPool(AvgPool2d pool, Value input, string path)
    {
        RequireRank(input, 3, path, "AvgPool2d");
        if (pool.divisor_override is not null)
            throw new NotSupportedException($"AvgPool2d '{path}' sets divisor_override, which ONNX AveragePool cannot express.");
        long[] kernel = Pair(pool.kernel_size), stride = Pair(pool.stride ?? pool.kernel_size), pads = Pair(pool.padding ?? [0]);
        var output = graph.AddNode("AveragePool", [input.Name],
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", pads[0], pads[1], pads[0], pads[1]),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0),
            OnnxAttribute.Int("count_include_pad", pool.count_include_pad ? 1 : 0));
        return new(output, [input.Shape[0],
            PooledSize(input.Shape[1], kernel[0], stride[0], pads[0], 1, pool.ceil_mode),
            PooledSize(input.Shape[2], kernel[1], stride[1], pads[1], 1, pool.ceil_mode)]);
    }

    private Value WriteAdaptiveAvgPool(AdaptiveAvgPool2d pool, Value input, string path)
    {
        RequireRank(input, 3, path, "AdaptiveAvgPool2d");
        if (pool.output_size.Any(s => s != 1))
            throw new NotSupportedException(
                $"AdaptiveAvgPool2d '{path}' has output size [{Format(pool.output_size)}]; ONNX export supports output size 1 (GlobalAveragePool).");
        return new(graph.AddNode("GlobalAveragePool", [input.Name]), [input.Shape[0], 1, 1]);
    }

    private Value WriteFlatten(Flatten flatten, Value input, string path)
    {
        int rank = input.Shape.Length + 1;
        long end = flatten.end_dim < 0 ? flatten.end_dim + rank : flatten.end_dim;
        if (flatten.start_dim != 1 || end != rank - 1)
            throw new NotSupportedException(
                $"Flatten '{path}' flattens dims {flatten.start_dim}..{flatten.end_dim}; ONNX export supports flattening all but the batch dimension.");
        long features = input.Shape.Any(d => d < 0) ? -1 : input.Shape.Aggregate(1L, (a, b) => a * b);
        return new(graph.AddNode("Flatten", [input.Name], OnnxAttribute.Int("axis", 1)), [features]);
    }

    private Value WriteLinear(Linear linear, Value input, string path)
    {
        if (input.Shape.Length != 1)
            throw new NotSupportedException(
                $"Linear '{path}' receives a [{Format(input.Shape)}] tensor per sample; ONNX export supports Linear on flattened [features] inputs.");
        if (input.Shape[0] >= 0 && input.Shape[0] != linear.in_features)
            throw new InvalidOperationException($"Linear '{path}' expects {linear.in_features} features but receives {input.Shape[0]}.");
        using var scope = torch.NewDisposeScope();
        var weight = linear.weight.detach().cpu();
        var inputs = new List<string> { input.Name, graph.AddInitializer(graph.UniqueName(path + ".weight"), ToFloats(weight), weight.shape) };
        if (linear.bias is { } bias)
            inputs.Add(graph.AddInitializer(graph.UniqueName(path + ".bias"), ToFloats(bias.detach().cpu()), bias.shape));
        return new(graph.AddNode("Gemm", inputs, OnnxAttribute.Int("transB", 1)), [linear.out_features]);
    }

    private static float[] ToFloats(Tensor t)
    {
        using var flat = t.to_type(ScalarType.Float32).contiguous().reshape(-1);
        return flat.data<float>().ToArray();
    }

    /// <summary>Output size of a conv/pool window along one axis (PyTorch's rule, incl. ceil mode); −1 stays unknown.</summary>
    internal static long PooledSize(long size, long kernel, long stride, long pad, long dilation, bool ceil)
    {
        if (size < 0) return -1;
        long span = size + 2 * pad - dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        long outSize = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        // In ceil mode the last window must start inside the input or its left padding.
        if (ceil && (outSize - 1) * stride >= size + pad) outSize--;
        return outSize;
    }

    private static long[] Pair(long[] values) => values.Length == 1 ? [values[0], values[0]] : values;

    private static void RequireRank(Value input, int rank, string path, string type)
    {
        if (input.Shape.Length != rank)
            throw new InvalidOperationException(
                $"{type} '{path}' needs a [C, H, W] input per sample but receives [{Format(input.Shape)}].");
    }

    private static bool ShapesMatch(long[] a, long[] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First < 0 || p.Second < 0 || p.First == p.Second);

    private static long[] Merge(long[] a, long[] b) => a.Zip(b, (x, y) => x >= 0 ? x : y).ToArray();

    internal static string Format(long[] shape) => string.Join(", ", shape.Select(d => d < 0 ? "?" : d.ToString()));
}
