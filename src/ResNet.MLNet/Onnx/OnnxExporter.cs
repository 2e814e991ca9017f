using ResNet.MLNet.Transforms;
using static TorchSharp.torch;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// Exports a trained TorchSharp image classifier to a standalone ONNX model (operator set 17 by default), which
/// ONNX Runtime, ML.NET's <c>ApplyOnnxModel</c> or any ONNX tool can run without TorchSharp.
/// </summary>
/// <remarks>
/// <para>The model is exported in eval mode: BatchNorm uses its running statistics (folded into the preceding
/// convolution by default). Supported modules: the model zoo's (<c>ResNet.MLNet.Modules</c>) and TorchSharp's
/// <c>Sequential</c>, <c>Conv2d</c>, <c>BatchNorm2d</c>, <c>BatchNorm1d</c>, <c>ReLU</c>, <c>MaxPool2d</c>, <c>AvgPool2d</c>
/// (incl. ceil mode), <c>AdaptiveAvgPool2d(1)</c>, <c>Flatten</c>, <c>Linear</c>, <c>Identity</c>, <c>Dropout</c>; anything
/// else raises <see cref="NotSupportedException"/> naming the module.</para>
/// <para>Graph: input [N, C, H, W] float → optional <c>Mul</c> (scale), <c>Sub</c>/<c>Div</c> (normalisation) →
/// network (Conv, Relu, Add, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm) → optional <c>Softmax</c>
/// → output [N, classes].</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>Exports <paramref name="network"/> and returns the ONNX model bytes.</summary>
    /// <param name="network">A module mapping [N, C, H, W] images to [N, classes] logits.</param>
    /// <param name="options">Shape, names, normalisation and softmax; defaults when null.</param>
    public static byte[] Export(nn.Module<Tensor, Tensor> network, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        return Build(network, options).ToModelBytes(options.Opset);
    }

    /// <summary>Exports <paramref name="network"/> to the ONNX file <paramref name="path"/>.</summary>
    /// <inheritdoc cref="Export(nn.Module{Tensor, Tensor}, OnnxExportOptions?)"/>
    /// <param name="network">A module mapping [N, C, H, W] images to [N, classes] logits.</param>
    /// <param name="path">The <c>.onnx</c> file to write (written atomically).</param>
    /// <param name="options">Shape, names, normalisation and softmax; defaults when null.</param>
    public static void Save(nn.Module<Tensor, Tensor> network, string path, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        Build(network, options).Save(path, options.Opset);
    }

    /// <summary>
    /// Exports the network of a training checkpoint (<c>ResNetTrainer.Options.CheckpointDirectory</c>) to the ONNX
    /// file <paramref name="path"/>; returns the checkpoint's architecture name, class count and image shape.
    /// </summary>
    /// <param name="checkpoint">The checkpoint directory or its <c>checkpoint.resnet-mlnet</c> file.</param>
    /// <param name="path">The <c>.onnx</c> file to write.</param>
    /// <param name="options">Shape, names, normalisation and softmax; defaults when null.</param>
    /// <exception cref="InvalidDataException">Not a readable checkpoint of a built-in architecture.</exception>
    public static (string Architecture, int Classes, IReadOnlyList<int> ImageShape) SaveCheckpoint(string checkpoint, string path,
        OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpoint);
        string file = Directory.Exists(checkpoint) ? Persistence.TrainingCheckpoint.PathIn(checkpoint) : checkpoint;
        if (!File.Exists(file)) throw new FileNotFoundException($"Checkpoint '{file}' does not exist.", file);
        var (identity, network) = Persistence.TrainingCheckpoint.ReadNetwork(file);
        using (network) Save(network, path, options);
        return (identity.Architecture, identity.ClassCount, identity.ImageShape);
    }

    private static OnnxGraphBuilder Build(nn.Module<Tensor, Tensor> network, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (options.Channels < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Channels, "OnnxExportOptions.Channels must be at least 1.");
        if (options.ImageHeight is < 1 || options.ImageWidth is < 1 || options.BatchSize is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "OnnxExportOptions.ImageHeight, ImageWidth and BatchSize must be positive when set.");
        OnnxDim batch = options.BatchSize is { } n ? n : "N";
        OnnxDim height = options.ImageHeight is { } h ? h : "H";
        OnnxDim width = options.ImageWidth is { } w ? w : "W";

        var graph = new OnnxGraphBuilder(network.GetName());
        graph.DocString = "Exported by ResNet.MLNet from a TorchSharp " + network.GetType().Name + " (eval mode).";
        var input = graph.AddInput(options.InputName, OnnxElementType.Float, batch, options.Channels, height, width);
        var x = AddPreprocessing(graph, input, options.Channels, options.InputScale, options.NormalizeMean, options.NormalizeStd);
        var logits = AddNetwork(graph, network, x, options.Channels, options.ImageHeight ?? -1, options.ImageWidth ?? -1,
            options.FoldBatchNorm, out long classes);
        var result = options.AddSoftmax ? graph.AddNode("Softmax", [logits], OnnxAttribute.Int("axis", 1)) : logits;
        graph.AddNode("Identity", [result], [options.OutputName]);
        graph.AddOutput(options.OutputName, OnnxElementType.Float, batch, classes >= 0 ? classes : "classes");
        return graph;
    }

    /// <summary>
    /// Appends input scaling and per-channel normalisation, <c>(x·scale − mean) / std</c>, to <paramref name="graph"/>
    /// and returns the name of the result (<paramref name="input"/> itself when there is nothing to do).
    /// </summary>
    internal static string AddPreprocessing(OnnxGraphBuilder graph, string input, int channels, float scale,
        IReadOnlyList<float>? mean, IReadOnlyList<float>? std)
    {
        if (!float.IsFinite(scale) || scale == 0) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The input scale must be finite and non-zero.");
        if ((mean is null) != (std is null))
            throw new ArgumentException("Normalisation needs both NormalizeMean and NormalizeStd (or neither).");
        var x = input;
        if (scale != 1f) x = graph.AddNode("Mul", [x, graph.AddInitializer(graph.UniqueName("input_scale"), [scale])]);
        if (mean is not null && std is not null)
            x = ImageOnnxGraphs.AddNormalization(graph, x, mean, std, [1, channels, 1, 1]);
        return x;
    }

    /// <summary>
    /// Writes <paramref name="network"/> for [C, H, W] images into a throwaway graph, as saving it would, so a network
    /// that has no ONNX form fails before training rather than after.
    /// </summary>
    internal static void CheckExportable(nn.Module<Tensor, Tensor> network, IReadOnlyList<int> imageShape)
    {
        var graph = new OnnxGraphBuilder(network.GetName());
        var input = graph.AddInput("input", OnnxElementType.Float, 1, imageShape[0], imageShape[1], imageShape[2]);
        AddNetwork(graph, network, input, imageShape[0], imageShape[1], imageShape[2], foldBatchNorm: true, out _);
    }

    /// <summary>Appends <paramref name="network"/> to <paramref name="graph"/>; returns the logits' name ([N, classes]).</summary>
    internal static string AddNetwork(OnnxGraphBuilder graph, nn.Module<Tensor, Tensor> network, string input,
        long channels, long height, long width, bool foldBatchNorm, out long classes)
    {
        var context = new OnnxNetworkContext(graph, foldBatchNorm);
        var output = context.WriteNetwork(network, new OnnxValue(input, [channels, height, width]));
        if (output.Shape.Length != 1)
            throw new NotSupportedException(
                $"Network '{network.GetName()}' ends with a [{OnnxNetworkContext.Format(output.Shape)}] tensor per sample; a classifier must end with [classes] (Flatten + Linear).");
        if (height >= 0 && width >= 0 && output.Shape[0] == 0)
            throw new ArgumentException($"Images of {height}×{width} px are too small for network '{network.GetName()}'.");
        classes = output.Shape[0];
        return output.Name;
    }
}
