using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using ResNet.MLNet.Onnx;

namespace ResNet.MLNet.Tests.Onnx;

public class OnnxGraphBuilderTests
{
    private static float[] Range(int count, float scale = 1f) => Enumerable.Range(0, count).Select(i => i * scale).ToArray();

    [Fact]
    public void SubDivNormalisationRunsWithSymbolicBatch()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("input", OnnxElementType.Float, "N", 3, 2, 2);
        var mean = g.AddInitializer("mean", [1f, 2f, 3f], 1, 3, 1, 1);
        var std = g.AddInitializer("std", [2f, 4f, 8f], 1, 3, 1, 1);
        var y = g.AddNode("Div", [g.AddNode("Sub", [x, mean]), std]);
        g.AddOutput(y, OnnxElementType.Float, "N", 3, 2, 2);
        var model = g.ToModelBytes();

        using (var session = new InferenceSession(model))
        {
            var meta = session.InputMetadata["input"];
            Assert.Equal([-1, 3, 2, 2], meta.Dimensions);
            Assert.Equal("N", meta.SymbolicDimensions[0]);
        }

        var data = Range(24);
        var result = OrtRunner.RunSingle(model, "input", data, 2, 3, 2, 2);
        float[] means = [1, 2, 3], stds = [2, 4, 8];
        for (int i = 0; i < data.Length; i++)
        {
            int c = i / 4 % 3;
            Assert.Equal((data[i] - means[c]) / stds[c], result[i], 6);
        }
    }

    [Fact]
    public void ConvGemmAndReshapeWithIntsFloatsAndInt64Initializers()
    {
        // 1x1x3x3 input, 2 output channels, 2x2 kernel, stride 1, pads 0 -> [1,2,2,2]; then flatten via Reshape and Gemm.
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", OnnxElementType.Float, 1, 1, 3, 3);
        var w = g.AddInitializer("w", [1f, 0f, 0f, 1f, 0f, 1f, 1f, 0f], 2, 1, 2, 2);
        var b = g.AddInitializer("b", [0.5f, -1f], 2);
        var conv = g.AddNode("Conv", [x, w, b],
            OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 1, 1), OnnxAttribute.Ints("pads", 0, 0, 0, 0));
        var shape = g.AddInitializer("shape", [1L, 8L], 2);
        var flat = g.AddNode("Reshape", [conv, shape]);
        var gw = g.AddInitializer("gw", Range(8), 1, 8);
        var gemm = g.AddNode("Gemm", [flat, gw, ""],
            OnnxAttribute.Float("alpha", 0.5f), OnnxAttribute.Int("transB", 1));
        g.AddOutput(conv, OnnxElementType.Float, 1, 2, 2, 2);
        g.AddOutput(gemm, OnnxElementType.Float, 1, 1);

        var input = Range(9); // 0..8 in a 3x3 grid
        var outputs = OrtRunner.Run(g.ToModelBytes(), ("x", input, [1, 1, 3, 3]));

        // channel 0: x[i,j] + x[i+1,j+1] + 0.5; channel 1: x[i,j+1] + x[i+1,j] - 1
        float[] expectedConv = new float[8];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
            {
                expectedConv[i * 2 + j] = input[i * 3 + j] + input[(i + 1) * 3 + j + 1] + 0.5f;
                expectedConv[4 + i * 2 + j] = input[i * 3 + j + 1] + input[(i + 1) * 3 + j] - 1f;
            }
        Assert.Equal(expectedConv, outputs[0].Floats!);
        Assert.Equal([1L, 2, 2, 2], outputs[0].Shape);
        float expectedGemm = 0.5f * expectedConv.Select((v, k) => v * k).Sum();
        Assert.Equal(expectedGemm, outputs[1].Floats![0], 4);
    }

    [Fact]
    public void ArgMaxAndGatherOverStringInitializerGiveTheClassName()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("scores", OnnxElementType.Float, "N", 3);
        var names = g.AddInitializer("classes", ["tench", "church", "golf ball"], 3);
        var index = g.AddNode("ArgMax", [x], OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0));
        var label = g.AddNode("Gather", [names, index], OnnxAttribute.Int("axis", 0));
        g.AddOutput(index, OnnxElementType.Int64, "N");
        g.AddOutput(label, OnnxElementType.String, "N");

        var outputs = OrtRunner.Run(g.ToModelBytes(), ("scores", [0.1f, 0.7f, 0.2f, 0.3f, 0.1f, 0.6f], [2, 3]));
        Assert.Equal([1L, 2L], outputs[0].Int64s!);
        Assert.Equal(["church", "golf ball"], outputs[1].Strings!);
    }

    [Fact]
    public void CentreCropSliceAndLinearResizeMatchBlockMeans()
    {
        // [1,1,4,6] -> centre 4x4 crop (columns 1..4) -> Resize to 2x2 (linear, half_pixel = 2x2 block means).
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("image", OnnxElementType.Float, 1, 1, 4, 6);
        var starts = g.AddInitializer("starts", [0L, 1L], 2);
        var ends = g.AddInitializer("ends", [4L, 5L], 2);
        var axes = g.AddInitializer("axes", [2L, 3L], 2);
        var crop = g.AddNode("Slice", [x, starts, ends, axes]);
        var sizes = g.AddInitializer("sizes", [1L, 1L, 2L, 2L], 4);
        var resized = g.AddNode("Resize", [crop, "", "", sizes],
            OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "half_pixel"));
        g.AddOutput(resized, OnnxElementType.Float, 1, 1, 2, 2);

        var input = Range(24);
        var result = OrtRunner.RunSingle(g.ToModelBytes(), "image", input, 1, 1, 4, 6);
        float Block(int r, int c) => (input[r * 6 + c + 1] + input[r * 6 + c + 2] + input[(r + 1) * 6 + c + 1] + input[(r + 1) * 6 + c + 2]) / 4;
        Assert.Equal([Block(0, 0), Block(0, 2), Block(2, 0), Block(2, 2)], result);
    }

    [Fact]
    public void ConstantTensorAttributeAndMlDomainLabelEncoderLoad()
    {
        var g = new OnnxGraphBuilder();
        g.UseOperatorSet(OnnxGraphBuilder.MlDomain, OnnxGraphBuilder.DefaultMlOpset);
        var x = g.AddInput("x", OnnxElementType.Float, 2);
        var c = g.AddNode("Constant", [], OnnxAttribute.Tensor("value", [10f, 20f], 2));
        var sum = g.AddNode("Add", [x, c]);
        var names = g.AddInitializer("names", ["b", "a"], 2);
        g.AddNode("LabelEncoder", [names], ["codes"],
            [OnnxAttribute.Strings("keys_strings", ["a", "b"]), OnnxAttribute.Ints("values_int64s", 0, 1)],
            nodeName: "encoder", domain: OnnxGraphBuilder.MlDomain);
        g.AddOutput(sum, OnnxElementType.Float, 2);
        g.AddOutput("codes", OnnxElementType.Int64, 2);

        var outputs = OrtRunner.Run(g.ToModelBytes(), ("x", [1f, 2f], [2]));
        Assert.Equal([11f, 22f], outputs[0].Floats!);
        Assert.Equal([1L, 0L], outputs[1].Int64s!);
    }

    [Fact]
    public void MlNetApplyOnnxModelReadsTheBuilderOutput()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("Pixels", OnnxElementType.Float, 1, 3, 1, 2);
        var mean = g.AddInitializer("mean", [1f, 2f, 3f], 1, 3, 1, 1);
        var y = g.AddNode("Sub", [x, mean]);
        g.AddNode("Identity", [y], ["Normalized"]);
        g.AddOutput("Normalized", OnnxElementType.Float, 1, 3, 1, 2);

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable([new PixelRow { Pixels = Range(6) }]);
        var transformer = ml.Transforms.ApplyOnnxModel(["Normalized"], ["Pixels"], new MemoryStream(g.ToModelBytes())).Fit(data);
        var column = transformer.Transform(data).GetColumn<float[]>("Normalized").Single();
        Assert.Equal([-1f, 0f, 0f, 1f, 1f, 2f], column);
    }

    private sealed class PixelRow
    {
        [VectorType(6)]
        public float[] Pixels { get; set; } = [];
    }

    [Fact]
    public void BadGraphsAreRejectedWithNamedErrors()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", OnnxElementType.Float, 2);
        Assert.Contains("'missing'", Assert.Throws<ArgumentException>(() => g.AddNode("Relu", ["missing"])).Message);
        Assert.Contains("'x'", Assert.Throws<ArgumentException>(() => g.AddInitializer("x", [1f], 1)).Message);
        Assert.Contains("holds 6", Assert.Throws<ArgumentException>(() => g.AddInitializer("w", [1f, 2f], 2, 3)).Message);
        Assert.Contains("ai.onnx.ml", Assert.Throws<ArgumentException>(
            () => g.AddNode("LabelEncoder", [x], ["y"], domain: OnnxGraphBuilder.MlDomain)).Message);
        Assert.Contains("no outputs", Assert.Throws<InvalidOperationException>(() => g.ToModelBytes()).Message);
        Assert.Contains("'nothing'", Assert.Throws<ArgumentException>(() => g.AddOutput("nothing", OnnxElementType.Float, 2)).Message);
        g.AddOutput(g.AddNode("Relu", [x]), OnnxElementType.Float, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => g.ToModelBytes(opset: 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxDim.Fixed(-1));
    }

    [Fact]
    public void SaveWritesALoadableFile()
    {
        var g = new OnnxGraphBuilder();
        g.AddOutput(g.AddNode("Relu", [g.AddInput("x", OnnxElementType.Float, 3)]), OnnxElementType.Float, 3);
        var path = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-{Guid.NewGuid():N}", "relu.onnx");
        try
        {
            g.Save(path);
            Assert.Equal([0f, 0f, 2f], OrtRunner.RunSingle(File.ReadAllBytes(path), "x", [-1f, 0f, 2f], 3));
            Assert.False(File.Exists(path + ".tmp"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
