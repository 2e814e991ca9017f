using ResNet.MLNet.Onnx;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Harness;

/// <summary>
/// The multiply-adds of one image's forward pass: every convolution's weights × its output positions, plus every
/// fully-connected layer's weights. Read from the network's ONNX form written for a fixed image size (the graph
/// model.zip holds, with the real strides and paddings), walked node by node to know each layer's output size: the
/// library's modules call their children's <c>forward</c> directly, which TorchSharp's forward hooks do not see.
/// </summary>
public static class ForwardMacs
{
    /// <summary>Multiply-adds per image of <paramref name="network"/> on 3-channel images of <paramref name="size"/> px square.</summary>
    public static long Count(nn.Module<Tensor, Tensor> network, int size)
    {
        string file = Path.Combine(Path.GetTempPath(), $"forward-macs-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(file, OnnxExporter.Export(network, new OnnxExportOptions { BatchSize = 1, ImageHeight = size, ImageWidth = size }));
            return Count(OnnxModelFile.Read(file), size);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static long Count(OnnxModelFile model, int size)
    {
        var shapes = new Dictionary<string, long[]> { [model.Inputs[0]] = [3, size, size] };   // per image: batch left out
        long macs = 0;
        foreach (var node in model.Nodes)
        {
            long[] input = node.Inputs.Where(shapes.ContainsKey).Select(i => shapes[i]).FirstOrDefault()
                ?? throw new InvalidOperationException($"{node.Description} reads no value of a known shape.");
            long[] output;
            switch (node.OpType)
            {
                case "Conv":
                    long[] weight = model.Initializers[node.Inputs[1]].Dims;   // [out, in / groups, kh, kw]
                    output = [weight[0], Positions(input[1], weight[2], node, 0), Positions(input[2], weight[3], node, 1)];
                    macs += Product(weight) * output[1] * output[2];
                    break;
                case "MaxPool" or "AveragePool":
                    long[] kernel = node.Ints("kernel_shape");
                    output = [input[0], Positions(input[1], kernel[0], node, 0), Positions(input[2], kernel[1], node, 1)];
                    break;
                case "GlobalAveragePool" or "GlobalMaxPool":
                    output = [input[0], 1, 1];
                    break;
                case "Flatten":
                    output = [Product(input)];
                    break;
                case "Gemm":
                    long[] matrix = model.Initializers[node.Inputs[1]].Dims;
                    macs += Product(matrix);
                    output = [node.Ints("transB", 0)[0] == 1 ? matrix[0] : matrix[1]];
                    break;
                case "Concat":
                    int axis = (int)node.Ints("axis")[0] - 1;
                    output = [.. input];
                    output[axis] = node.Inputs.Sum(i => shapes[i][axis]);
                    break;
                case "Relu" or "Add" or "Mul" or "Sub" or "Div" or "BatchNormalization" or "Identity" or "Softmax" or "Dropout":
                    output = input;
                    break;
                default:
                    throw new NotSupportedException($"{node.Description}: no multiply-add count for this operator.");
            }
            shapes[node.Outputs[0]] = output;
        }
        return macs;
    }

    /// <summary>Output positions along one axis of a window sliding over <paramref name="input"/> positions (convolution or pool).</summary>
    private static long Positions(long input, long kernel, OnnxNode node, int axis)
    {
        long[] strides = node.Ints("strides", 1, 1), pads = node.Ints("pads", 0, 0, 0, 0), dilations = node.Ints("dilations", 1, 1);
        long reach = input + pads[axis] + pads[axis + 2] - (dilations[axis] * (kernel - 1) + 1);
        bool ceil = node.Ints("ceil_mode", 0)[0] == 1;
        return (ceil ? (reach + strides[axis] - 1) / strides[axis] : reach / strides[axis]) + 1;
    }

    private static long Product(long[] dims) => dims.Aggregate(1L, (a, b) => a * b);
}
