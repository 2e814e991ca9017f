using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// What a network's modules write their eval-mode ONNX nodes through (BatchNorm uses its running statistics). This
/// library's modules write themselves (<see cref="IOnnxExportable"/>); TorchSharp's stock modules are written from the
/// table here. Tracks the per-sample shape so mismatches surface with the module's path.
/// </summary>
internal sealed class OnnxNetworkContext(OnnxGraphBuilder graph, bool foldBatchNorm)
{
    private delegate OnnxValue StockWriter(OnnxNetworkContext context, nn.Module<Tensor, Tensor> module, OnnxValue input, string path);

    /// <summary>The TorchSharp modules written without implementing <see cref="IOnnxExportable"/>.</summary>
    private static readonly (Type Type, StockWriter Write)[] StockModules =
    [
        Stock<Sequential>((c, m, x, p) => c.WriteSequential(m, x, p)),
        Stock<Conv2d>((c, m, x, p) => c.WriteConv(m, null, x, p, null)),
        Stock<BatchNorm2d>((c, m, x, p) => c.WriteBatchNorm(m, x, p)),
        Stock<BatchNorm1d>((c, m, x, p) => c.WriteBatchNorm1d(m, x, p)),
        Stock<ReLU>((c, _, x, _) => c.Relu(x)),
        Stock<MaxPool2d>((c, m, x, p) => c.WriteMaxPool(m, x, p)),
        Stock<AvgPool2d>((c, m, x, p) => c.WriteAvgPool(m, x, p)),
        Stock<AdaptiveAvgPool2d>((c, m, x, p) => c.WriteAdaptiveAvgPool(m, x, p)),
        Stock<Flatten>((c, m, x, p) => c.WriteFlatten(m, x, p)),
        Stock<Linear>((c, m, x, p) => c.WriteLinear(m, x, p)),
        Stock<Identity>((_, _, x, _) => x),
        Stock<Dropout>((_, _, x, _) => x),
        Stock<Dropout2d>((_, _, x, _) => x),
    ];

    /// <summary>The modules a network can be built from and still be written to ONNX, for error messages.</summary>
    internal static string SupportedModules =>
        $"the modules of ResNet.MLNet.Modules and TorchSharp's {string.Join(", ", StockModules.Select(s => s.Type.Name))}";

    private static (Type, StockWriter) Stock<T>(Func<OnnxNetworkContext, T, OnnxValue, string, OnnxValue> write) where T : nn.Module<Tensor, Tensor> =>
        (typeof(T), (context, module, input, path) => write(context, (T)module, input, path));

    private string _networkPath = "";

    /// <summary>Appends the nodes of a whole network, whose name roots the paths of its modules.</summary>
    /// <exception cref="UnexportableModuleException">A module has no ONNX form.</exception>
    public OnnxValue WriteNetwork(nn.Module<Tensor, Tensor> network, OnnxValue input)
    {
        _networkPath = network.GetName();
        return Write(network, input, _networkPath);
    }

    /// <summary>Appends <paramref name="module"/>'s nodes reading <paramref name="input"/>; <paramref name="path"/> names it in the network.</summary>
    /// <exception cref="UnexportableModuleException">The module has no ONNX form.</exception>
    public OnnxValue Write(nn.Module<Tensor, Tensor> module, OnnxValue input, string path)
    {
        if (module is IOnnxExportable exportable) return exportable.WriteOnnx(this, input, path);
        foreach (var (type, write) in StockModules)
            if (type.IsInstanceOfType(module)) return write(this, module, input, path);
        throw Unexportable(path, module);
    }

    /// <summary>
    /// A convolution followed by BatchNorm: one Conv node when folding, else Conv (named by <paramref name="convPath"/>)
    /// then BatchNormalization (named by <paramref name="normPath"/>). <paramref name="pads"/> (ONNX order: top, left,
    /// bottom, right) replaces the convolution's own symmetric padding, for a module that trims its output to pad less at the end.
    /// </summary>
    public OnnxValue WriteConvNorm(Conv2d conv, BatchNorm2d norm, OnnxValue input, string convPath, string normPath, long[]? pads = null) =>
        foldBatchNorm ? WriteConv(conv, norm, input, convPath, pads) : WriteBatchNorm(norm, WriteConv(conv, null, input, convPath, pads), normPath);

    /// <summary>A max pool; <paramref name="pads"/> (ONNX order) replaces its symmetric padding, as in <see cref="WriteConvNorm"/>.</summary>
    public OnnxValue WriteMaxPool(MaxPool2d pool, OnnxValue input, string path, long[]? pads = null)
    {
        RequireImage(input, path, "MaxPool2d");
        long[] kernel = Pair(pool.kernel_size), stride = Pair(pool.stride ?? pool.kernel_size), dilation = Pair(pool.dilation ?? [1]);
        pads ??= Symmetric(Pair(pool.padding ?? [0]));
        var output = graph.AddNode("MaxPool", [input.Name],
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", pads),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0));
        return new(output, [input.Shape[0],
            PooledSize(input.Shape[1], kernel[0], stride[0], pads[0], pads[2], dilation[0], pool.ceil_mode),
            PooledSize(input.Shape[2], kernel[1], stride[1], pads[1], pads[3], dilation[1], pool.ceil_mode)]);
    }

    /// <summary>Adds a single-output node and returns its output's name.</summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes) =>
        graph.AddNode(opType, inputs, attributes);

    /// <summary>(x − mean) / std per channel of the image <paramref name="x"/>.</summary>
    public OnnxValue Normalize(OnnxValue x, IReadOnlyList<float> mean, IReadOnlyList<float> std, string path)
    {
        RequireImage(x, path, "Normalisation");
        return new(Transforms.ImageOnnxGraphs.AddNormalization(graph, x.Name, mean, std, [mean.Count, 1, 1]), x.Shape);
    }

    /// <summary>ReLU of <paramref name="x"/>.</summary>
    public OnnxValue Relu(OnnxValue x) => new(graph.AddNode("Relu", [x.Name]), x.Shape);

    /// <summary>The sum of a residual block's two paths, whose shapes must agree.</summary>
    public OnnxValue Add(OnnxValue a, OnnxValue b, string path)
    {
        if (!ShapesMatch(a.Shape, b.Shape))
            throw new InvalidOperationException(
                $"Residual block '{Named(path)}' adds shapes [{Format(a.Shape)}] and [{Format(b.Shape)}], which differ.");
        return new(graph.AddNode("Add", [a.Name, b.Name]), Merge(a.Shape, b.Shape));
    }

    /// <summary>Fails unless <paramref name="input"/> is an image, [C, H, W] per sample.</summary>
    public void RequireImage(OnnxValue input, string path, string type)
    {
        if (input.Shape.Length != 3)
            throw new InvalidOperationException(
                $"{type} '{Named(path)}' needs a [C, H, W] input per sample but receives [{Format(input.Shape)}].");
    }

    private UnexportableModuleException Unexportable(string path, nn.Module module) => new(Named(path), module.GetType());

    /// <summary>A module's path below the network (<c>body.2.act</c>) as messages show it; the network's own name for the network.</summary>
    private string Named(string path) =>
        path.StartsWith(_networkPath + ".", StringComparison.Ordinal) ? path[(_networkPath.Length + 1)..] : path;

    /// <summary>Eval-mode BatchNorm1d on [features] as x·scale + shift (Mul, Add).</summary>
    private OnnxValue WriteBatchNorm1d(BatchNorm1d norm, OnnxValue input, string path)
    {
        if (input.Shape.Length != 1)
            throw new NotSupportedException($"BatchNorm1d '{Named(path)}' receives a [{Format(input.Shape)}] tensor per sample; ONNX export supports it on [features].");
        if (input.Shape[0] >= 0 && input.Shape[0] != norm.num_features)
            throw new InvalidOperationException($"BatchNorm1d '{Named(path)}' expects {norm.num_features} features but receives {input.Shape[0]}.");
        if (norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException($"BatchNorm1d '{Named(path)}' does not track running statistics, so it has no eval-mode form to export.");
        using var scope = torch.NewDisposeScope();
        var (scale, shift) = Affine(norm.running_mean, norm.running_var, norm.weight, norm.bias, norm.eps);
        string scaled = graph.AddNode("Mul", [input.Name, graph.AddInitializer(graph.UniqueName(path + ".scale"), ToFloats(scale), scale.shape)]);
        return new(graph.AddNode("Add", [scaled, graph.AddInitializer(graph.UniqueName(path + ".shift"), ToFloats(shift), shift.shape)]), input.Shape);
    }

    private OnnxValue WriteSequential(Sequential sequential, OnnxValue input, string path)
    {
        var children = sequential.named_children().ToList();
        var x = input;
        for (int i = 0; i < children.Count; i++)
        {
            var (name, child) = children[i];
            string childPath = $"{path}.{name}";
            if (child is not nn.Module<Tensor, Tensor> typed) throw Unexportable(childPath, child);
            // A BatchNorm2d right after a Conv2d folds into it, as inside ConvLayer.
            if (foldBatchNorm && typed is Conv2d conv && i + 1 < children.Count && children[i + 1].module is BatchNorm2d norm)
            {
                x = WriteConv(conv, norm, x, childPath, null);
                i++;
                continue;
            }
            x = Write(typed, x, childPath);
        }
        return x;
    }

    private OnnxValue WriteConv(Conv2d conv, BatchNorm2d? norm, OnnxValue input, string path, long[]? pads)
    {
        RequireImage(input, path, "Conv2d");
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"Conv2d '{Named(path)}' uses padding mode {conv.padding_mode}; ONNX export supports zero padding only.");
        if (input.Shape[0] >= 0 && input.Shape[0] != conv.in_channels)
            throw new InvalidOperationException($"Conv2d '{Named(path)}' expects {conv.in_channels} channels but receives {input.Shape[0]}.");
        long[] kernel = conv.kernel_size, stride = conv.stride, dilation = conv.dilation;
        pads ??= Symmetric(ConvPadding(conv, path));

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
            OnnxAttribute.Ints("pads", pads),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Int("group", conv.groups));
        long h = PooledSize(input.Shape[1], kernel[0], stride[0], pads[0], pads[2], dilation[0], ceil: false);
        long wd = PooledSize(input.Shape[2], kernel[1], stride[1], pads[1], pads[3], dilation[1], ceil: false);
        return new(output, [conv.out_channels, h, wd]);
    }

    private long[] ConvPadding(Conv2d conv, string path)
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
                    throw new NotSupportedException($"Conv2d '{Named(path)}' uses padding 'same' with an even kernel, which pads unevenly; export needs symmetric padding.");
                pads[i] = total / 2;
            }
            return pads;
        }
        throw new NotSupportedException($"Conv2d '{Named(path)}' has a padding configuration ONNX export does not understand.");
    }

    /// <summary>Eval-mode BatchNorm as y = x·scale + shift per channel (float64).</summary>
    private (Tensor Scale, Tensor Shift) BatchNormAffine(BatchNorm2d norm, string path)
    {
        if (norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException(
                $"BatchNorm2d '{Named(path)}' does not track running statistics, so it has no eval-mode form to export.");
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

    private OnnxValue WriteBatchNorm(BatchNorm2d norm, OnnxValue input, string path)
    {
        RequireImage(input, path, "BatchNorm2d");
        if (input.Shape[0] >= 0 && input.Shape[0] != norm.num_features)
            throw new InvalidOperationException($"BatchNorm2d '{Named(path)}' expects {norm.num_features} channels but receives {input.Shape[0]}.");
        if (norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException(
                $"BatchNorm2d '{Named(path)}' does not track running statistics, so it has no eval-mode form to export.");
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

    private OnnxValue WriteAvgPool(AvgPool2d pool, OnnxValue input, string path)
    {
        RequireImage(input, path, "AvgPool2d");
        if (pool.divisor_override is not null)
            throw new NotSupportedException($"AvgPool2d '{Named(path)}' sets divisor_override, which ONNX AveragePool cannot express.");
        long[] kernel = Pair(pool.kernel_size), stride = Pair(pool.stride ?? pool.kernel_size), pads = Pair(pool.padding ?? [0]);
        var output = graph.AddNode("AveragePool", [input.Name],
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", pads[0], pads[1], pads[0], pads[1]),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0),
            OnnxAttribute.Int("count_include_pad", pool.count_include_pad ? 1 : 0));
        return new(output, [input.Shape[0],
            PooledSize(input.Shape[1], kernel[0], stride[0], pads[0], pads[0], 1, pool.ceil_mode),
            PooledSize(input.Shape[2], kernel[1], stride[1], pads[1], pads[1], 1, pool.ceil_mode)]);
    }

    private OnnxValue WriteAdaptiveAvgPool(AdaptiveAvgPool2d pool, OnnxValue input, string path)
    {
        RequireImage(input, path, "AdaptiveAvgPool2d");
        if (pool.output_size.Any(s => s != 1))
            throw new NotSupportedException(
                $"AdaptiveAvgPool2d '{Named(path)}' has output size [{Format(pool.output_size)}]; ONNX export supports output size 1 (GlobalAveragePool).");
        return new(graph.AddNode("GlobalAveragePool", [input.Name]), [input.Shape[0], 1, 1]);
    }

    private OnnxValue WriteFlatten(Flatten flatten, OnnxValue input, string path)
    {
        int rank = input.Shape.Length + 1;
        long end = flatten.end_dim < 0 ? flatten.end_dim + rank : flatten.end_dim;
        if (flatten.start_dim != 1 || end != rank - 1)
            throw new NotSupportedException(
                $"Flatten '{Named(path)}' flattens dims {flatten.start_dim}..{flatten.end_dim}; ONNX export supports flattening all but the batch dimension.");
        long features = input.Shape.Any(d => d < 0) ? -1 : input.Shape.Aggregate(1L, (a, b) => a * b);
        return new(graph.AddNode("Flatten", [input.Name], OnnxAttribute.Int("axis", 1)), [features]);
    }

    private OnnxValue WriteLinear(Linear linear, OnnxValue input, string path)
    {
        if (input.Shape.Length != 1)
            throw new NotSupportedException(
                $"Linear '{Named(path)}' receives a [{Format(input.Shape)}] tensor per sample; ONNX export supports Linear on flattened [features] inputs.");
        if (input.Shape[0] >= 0 && input.Shape[0] != linear.in_features)
            throw new InvalidOperationException($"Linear '{Named(path)}' expects {linear.in_features} features but receives {input.Shape[0]}.");
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
    internal static long PooledSize(long size, long kernel, long stride, long padBegin, long padEnd, long dilation, bool ceil)
    {
        if (size < 0) return -1;
        long span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
        // Rounded towards −∞ as PyTorch does: in ceil mode a window wider than the input still gives one output.
        long outSize = (long)Math.Floor((double)(span + (ceil ? stride - 1 : 0)) / stride) + 1;
        // In ceil mode the last window must start inside the input or its left padding.
        if (ceil && (outSize - 1) * stride >= size + padBegin) outSize--;
        return Math.Max(outSize, 0);
    }

    /// <summary>ONNX's begin-and-end padding (top, left, bottom, right) from PyTorch's per-axis padding.</summary>
    private static long[] Symmetric(long[] pads) => [pads[0], pads[1], pads[0], pads[1]];

    private static long[] Pair(long[] values) => values.Length == 1 ? [values[0], values[0]] : values;

    private static bool ShapesMatch(long[] a, long[] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First < 0 || p.Second < 0 || p.First == p.Second);

    private static long[] Merge(long[] a, long[] b) => a.Zip(b, (x, y) => x >= 0 ? x : y).ToArray();

    internal static string Format(long[] shape) => string.Join(", ", shape.Select(d => d < 0 ? "?" : d.ToString()));
}
