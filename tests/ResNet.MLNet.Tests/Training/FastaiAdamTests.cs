using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class FastaiAdamTests
{
    [Fact]
    public void OneStepEqualsTheHandComputation()
    {
        NativeMemoryTuning.Apply();
        using var p = torch.tensor(new float[] { 1f, -2f }).requires_grad_(true);
        p.grad = torch.tensor(new float[] { 0.5f, 0.1f });
        using var adam = new FastaiAdam([(p, true, 0)]);
        adam.Step(lr: 0.1, beta1: 0.9);
        // p·(1 − lr·wd), then p − lr/(1 − β1) · m / (sqrt(v/(1 − β2)) + eps) with m = (1 − β1)g, v = (1 − β2)g².
        var values = p.data<float>().ToArray();
        Assert.Equal(0.899002, values[0], 5);
        Assert.Equal(-2.097990, values[1], 5);
    }

    [Fact]
    public void SecondStepUsesTheGivenBeta1AndBiasCorrection()
    {
        NativeMemoryTuning.Apply();
        using var p = torch.tensor(new float[] { 0f }).requires_grad_(true);
        using var adam = new FastaiAdam([(p, false, 0)]);
        p.grad = torch.tensor(new float[] { 1f });
        adam.Step(0.01, 0.95);
        p.grad = torch.tensor(new float[] { -1f });
        adam.Step(0.01, 0.85);
        double m = 0.85 * 0.05 + 0.15 * -1, v = 0.99 * 0.01 + 0.01;
        double expected = -0.01 * 0.05 / 0.05 / (Math.Sqrt(0.01 / 0.01) + 1e-5)
            - 0.01 / (1 - 0.85 * 0.85) * m / (Math.Sqrt(v / (1 - 0.99 * 0.99)) + 1e-5);
        Assert.Equal(expected, p.data<float>()[0], 5);
    }

    [Fact]
    public void WeightDecaySkipsBatchNormAndBiases()
    {
        NativeMemoryTuning.Apply();
        var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("bn", nn.BatchNorm2d(4)), ("flat", nn.Flatten()), ("fc", nn.Linear(4, 2)));
        var groups = FastaiAdam.Groups(model).ToList();
        var names = model.named_parameters().Select(p => p.name).ToList();
        var decayed = names.Where((_, i) => groups[i].Decay).ToList();
        Assert.Equal(["conv.weight", "fc.weight"], decayed);

        // With zero gradients Adam's update is zero, so only decoupled weight decay moves the weights.
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        foreach (var (_, p) in model.named_parameters()) p.grad = torch.zeros_like(p);
        using var adam = new FastaiAdam(groups);
        adam.Step(lr: 0.5, beta1: 0.9);
        foreach (var (name, p) in model.named_parameters())
        {
            double factor = decayed.Contains(name) ? 1 - 0.5 * 0.01 : 1;
            Assert.True(p.allclose(before[name] * factor, rtol: 1e-6, atol: 1e-7), name);
        }
    }

    [Fact]
    public void EachGroupStepsWithItsLearningRateAndFrozenParametersStay()
    {
        NativeMemoryTuning.Apply();
        var parameters = Enumerable.Range(0, 3).Select(_ => torch.tensor(new float[] { 1f }).requires_grad_(true)).ToArray();
        using var frozen = torch.tensor(new float[] { 1f }).requires_grad_(true);
        using var adam = new FastaiAdam(parameters.Select((p, g) => (p, false, g)).Append((frozen, false, 0)));
        adam.SetGroupMultipliers([0.01, 0.1, 1]);
        foreach (var p in parameters) p.grad = torch.tensor(new float[] { 0.3f });
        adam.Step(lr: 0.5, beta1: 0.9);
        // Adam's first step moves each parameter by lr·m̂/(√v̂ + eps) ≈ its group's learning rate.
        double[] moved = parameters.Select(p => 1 - (double)p.data<float>()[0]).ToArray();
        Assert.Equal(0.005, moved[0], 4);
        Assert.Equal(0.05, moved[1], 4);
        Assert.Equal(0.5, moved[2], 4);
        Assert.Equal(1f, frozen.data<float>()[0]);   // no gradient: not stepped
        Assert.Throws<ArgumentException>(() => adam.SetGroupMultipliers([1, 1]));
        foreach (var p in parameters) p.Dispose();
    }
}
