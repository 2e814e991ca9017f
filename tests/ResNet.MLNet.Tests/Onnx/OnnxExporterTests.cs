using ResNet.MLNet.Modules;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp.Modules;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Onnx;

public class OnnxExporterTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    /// <summary>Gives every BatchNorm non-trivial eval-mode statistics and affine parameters.</summary>
    internal static void RandomizeBatchNorms(nn.Module module, int seed)
    {
        torch.manual_seed(seed);
        using var noGrad = torch.no_grad();
        foreach (var m in module.modules())
        {
            if (m is not BatchNorm2d bn) continue;
            long c = bn.num_features;
            bn.running_mean!.copy_(torch.randn(c) * 0.1);
            bn.running_var!.copy_(torch.rand(c) + 0.5);
            bn.weight.copy_(torch.rand(c) * 0.8 + 0.6);
            bn.bias!.copy_(torch.randn(c) * 0.3);
        }
    }

    internal static float[] TorchForward(nn.Module<Tensor, Tensor> model, float[] input, long[] shape, bool softmax = false)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var y = model.forward(torch.tensor(input, shape));
        if (softmax) y = y.softmax(1);
        return y.contiguous().data<float>().ToArray();
    }

    internal static float[] RandomInput(int seed, long count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
    }

    public static TheoryData<string> ArchitectureNames() => new(Architectures.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void OnnxRuntimeMatchesTorchSharpLogitsAtOddSizes(string architecture)
    {
        NativeMemoryTuning.Apply();
        torch.manual_seed(7);
        using var model = Architectures.Get(architecture).Create(5);
        RandomizeBatchNorms(model, 11);
        model.eval();
        var onnx = OnnxExporter.Export(model);   // symbolic N, H, W

        foreach (var (batch, size) in new[] { (2L, 33L), (1L, 65L) })
        {
            long[] shape = [batch, 3, size, size];
            var x = RandomInput((int)size, batch * 3 * size * size);
            var expected = TorchForward(model, x, shape);
            var result = OrtRunner.Run(onnx, ("input", x, shape))[0];
            Assert.Equal([batch, 5L], result.Shape);
            double diff = MaxAbsDiff(expected, result.Floats!);
            output.WriteLine($"{architecture} {size}px: max |logit| {expected.Max(Math.Abs):G4}, max abs diff {diff:E2}");
            // 1e-4 for logits of order 1; float32 rounding grows with the logits, which reach ~100 in the untrained
            // torchvision networks (no zero-initialised residual branches), so there the bound is relative.
            double bound = Tolerance * Math.Max(1, expected.Max(Math.Abs));
            Assert.True(diff <= bound, $"{architecture} at {size} px: max abs diff {diff:E3} > {bound:E3}");
        }
    }

    [Fact]
    public void ResidualBlocksExportWhereTheIdentityPoolSeesASinglePixel()
    {
        // At 16 px ResBlockCnn's last block pools a 1×1 identity with AvgPool2d(2, ceil_mode): one output, as in PyTorch.
        torch.manual_seed(6);
        using var model = Architectures.ResBlockCnn.Create(3);
        RandomizeBatchNorms(model, 8);
        model.eval();
        var onnx = OnnxExporter.Export(model, new OnnxExportOptions { ImageHeight = 16, ImageWidth = 16 });
        long[] shape = [2, 3, 16, 16];
        var x = RandomInput(16, 2 * 3 * 16 * 16);
        var result = OrtRunner.Run(onnx, ("input", x, shape))[0];
        Assert.True(MaxAbsDiff(TorchForward(model, x, shape), result.Floats!) <= Tolerance);
    }

    [Fact]
    public void UnfoldedBatchNormNormalisationAndSoftmaxMatchTorchSharp()
    {
        torch.manual_seed(3);
        using var model = Architectures.ResBlockCnn.Create(4);
        RandomizeBatchNorms(model, 5);
        model.eval();
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var onnx = OnnxExporter.Export(model, new OnnxExportOptions
        {
            InputName = "pixels", OutputName = "probabilities", ImageHeight = 37, ImageWidth = 41, BatchSize = 2,
            InputScale = 1 / 255f, NormalizeMean = mean, NormalizeStd = std, AddSoftmax = true, FoldBatchNorm = false,
        });

        long[] shape = [2, 3, 37, 41];
        var raw = RandomInput(1, 2 * 3 * 37 * 41).Select(v => (v + 1) * 127.5f).ToArray();
        var normalised = raw.Select((v, i) => (v / 255f - mean[i / (37 * 41) % 3]) / std[i / (37 * 41) % 3]).ToArray();
        var expected = TorchForward(model, normalised, shape, softmax: true);
        var result = OrtRunner.Run(onnx, ("pixels", raw, shape))[0];
        Assert.Equal("probabilities", result.Name);
        Assert.True(MaxAbsDiff(expected, result.Floats!) <= Tolerance);
        Assert.Equal(2.0, result.Floats!.Sum(), 4);
    }

    [Fact]
    public void CustomSequentialWithPlainLayersExports()
    {
        torch.manual_seed(4);
        using var model = nn.Sequential(
            ("conv", nn.Conv2d(3, 6, 3, stride: 2, padding: 1)),
            ("bn", nn.BatchNorm2d(6)),
            ("relu", nn.ReLU()),
            ("block", new SimpleResBlock(6)),
            ("pool", nn.AvgPool2d(3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false)),
            ("max", nn.MaxPool2d(2, ceil_mode: true)),
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flat", nn.Flatten()),
            ("drop", nn.Dropout(0.5)),
            ("fc", nn.Linear(6, 3)));
        RandomizeBatchNorms(model, 2);
        model.eval();
        long[] shape = [3, 3, 23, 19];
        var x = RandomInput(9, 3 * 3 * 23 * 19);
        var result = OrtRunner.Run(OnnxExporter.Export(model), ("input", x, shape))[0];
        Assert.True(MaxAbsDiff(TorchForward(model, x, shape), result.Floats!) <= Tolerance);
    }

    [Fact]
    public void UnsupportedModulesAreNamedInTheError()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("act", nn.Sigmoid()), ("gap", nn.AdaptiveAvgPool2d(1)));
        var e = Assert.Throws<UnexportableModuleException>(() => OnnxExporter.Export(model));
        Assert.Equal("act", e.ModulePath);
        Assert.Contains("'act'", e.Message);
        Assert.Contains("Sigmoid", e.Message);

        using var pooled = nn.Sequential(("gap", nn.AdaptiveAvgPool2d(2)), ("flat", nn.Flatten()));
        Assert.Contains("output size", Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(pooled)).Message);

        using var mismatch = nn.Sequential(("gap", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()), ("fc", nn.Linear(4, 2)));
        Assert.Contains("expects 4 features", Assert.Throws<InvalidOperationException>(() => OnnxExporter.Export(mismatch)).Message);

        Assert.Throws<ArgumentException>(() => OnnxExporter.Export(mismatch, new OnnxExportOptions { NormalizeMean = [0.5f, 0.5f, 0.5f] }));
    }

    [Fact]
    public void SaveWritesAStandaloneFile()
    {
        torch.manual_seed(5);
        using var model = Architectures.SimpleCnn.Create(2);
        model.eval();
        var path = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Save(model, path, new OnnxExportOptions { ImageHeight = 32, ImageWidth = 32 });
            long[] shape = [1, 3, 32, 32];
            var x = RandomInput(2, 3 * 32 * 32);
            var result = OrtRunner.Run(File.ReadAllBytes(path), ("input", x, shape))[0];
            Assert.True(MaxAbsDiff(TorchForward(model, x, shape), result.Floats!) <= Tolerance);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
