using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class LossScalerTests
{
    [Fact]
    public void HalvesAndSkipsOnOverflowAndDoublesAfterCleanSteps()
    {
        var s = new LossScaler(initialScale: 65536, growthInterval: 3);
        Assert.False(s.Update(gradientsOverflowed: true));
        Assert.Equal(32768, s.Scale);
        Assert.True(s.Update(false));
        Assert.True(s.Update(false));
        Assert.Equal(32768, s.Scale);
        Assert.True(s.Update(false));
        Assert.Equal(65536, s.Scale);
        Assert.Equal(1, s.SkippedSteps);
        Assert.Equal(65536, new LossScaler().Scale);
        Assert.Equal(2000, new LossScaler().GrowthInterval);
    }

    public static TheoryData<string> ArchitectureNames => [.. Architectures.All.Select(a => a.Name)];

    /// <summary>
    /// Every built-in network runs as a bf16 working copy: a tensor it keeps besides its weights (the ImageNet network's
    /// input adapter) must follow the copy to bf16, or the first convolution meets fp32 input with bf16 weights.
    /// </summary>
    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void EveryArchitectureRunsABf16WorkingCopy(string name)
    {
        var architecture = Architectures.All.Single(a => a.Name == name);
        torch.manual_seed(1);
        using var half = new HalfPrecisionCopy(architecture.Create(3), architecture.Create(3), ScalarType.BFloat16, new LossScaler());
        using var scope = NewDisposeScope();
        half.Working.eval();
        var logits = half.Forward(torch.randn(2, 3, 32, 32));
        Assert.Equal([2L, 3L], logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    [Fact]
    public void Bf16CopySkipsOverflowingStepsAndPassesUnscaledGradientsToTheMaster()
    {
        NativeMemoryTuning.Apply();
        torch.manual_seed(3);
        var master = nn.Sequential(nn.Conv2d(3, 4, 3, bias: false), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 2));
        var working = nn.Sequential(nn.Conv2d(3, 4, 3, bias: false), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 2));
        using var half = new HalfPrecisionCopy(master, working, ScalarType.BFloat16, new LossScaler(initialScale: 1e38));
        Assert.Equal(ScalarType.BFloat16, working.parameters().First().dtype);
        Assert.Equal(ScalarType.Float32, ((TorchSharp.Modules.BatchNorm2d)working[1]).weight!.dtype);
        var x = torch.randn(2, 3, 8, 8);
        var y = torch.tensor(new long[] { 0, 1 });

        // 1e38 × loss on huge inputs overflows: the step is skipped, the scale halves, no gradient reaches the master.
        var loss = nn.functional.cross_entropy(half.Forward(x * 1e6), y);
        Assert.False(half.BackwardToMaster(loss));
        Assert.Equal(5e37, half.Scaler.Scale);
        Assert.All(master.parameters(), p => Assert.Null(p.grad));

        // A sane scale gives finite fp32 gradients on the master, equal to the bf16 gradient (unscaled).
        half.Scaler.Restore(1024, 0);
        loss = nn.functional.cross_entropy(half.Forward(x), y);
        Assert.True(half.BackwardToMaster(loss));
        // The reference: the same forward in the working copy, backpropagated without any scaling. A power-of-two scale
        // is exact in floating point, so the master's gradient must be that bf16 gradient, only widened to fp32.
        var unscaled = nn.functional.cross_entropy(half.Forward(x), y);
        unscaled.backward();
        foreach (var (m, w) in master.parameters().Zip(working.parameters()))
        {
            Assert.NotNull(m.grad);
            Assert.Equal(ScalarType.Float32, m.grad!.dtype);
            Assert.True(m.grad.isfinite().all().item<bool>());
            var expected = w.grad!.to(ScalarType.Float32);
            Assert.True(expected.abs().sum().item<float>() > 0, "the reference gradient must not be zero");
            Assert.True(m.grad.allclose(expected, rtol: 1e-6, atol: 1e-12),
                $"master gradient differs from the unscaled bf16 gradient by up to {(m.grad - expected).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void TrainerRunsInBf16OnTheCpuWhenForced()
    {
        var ml = new Microsoft.ML.MLContext(0);
        var log = new StringWriter();
        var options = new ResNetTrainer.Options
        {
            FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
            Epochs = 1, BatchSize = 16, MaxLearningRate = 1e-2f, Device = "cpu", Seed = 1, Log = log,
            MixedPrecision = true, CpuHalfPrecision = ScalarType.BFloat16,
        };
        var model = new ResNetTrainer(options).Fit(SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4));
        Assert.Contains("bf16", log.ToString());
        Assert.True(double.IsFinite(model.History[0].TrainLoss));
        Assert.Equal(ScalarType.Float32, model.Model.parameters().First().dtype);
    }
}
