using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests;

public class TorchSmokeTests
{
    [Fact]
    public void TorchInitialisesAndTrainsAConvLayerForAStep()
    {
        NativeMemoryTuning.Apply();
        torch.manual_seed(1);
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(3, 4, 3, padding: 1);
        var optimizer = optim.SGD(conv.parameters(), 0.1);
        var x = randn(2, 3, 8, 8);
        var target = zeros(2, 4, 8, 8);

        float before = nn.functional.mse_loss(conv.forward(x), target).item<float>();
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(conv.forward(x), target);
        loss.backward();
        optimizer.step();
        float after = nn.functional.mse_loss(conv.forward(x), target).item<float>();

        Assert.True(float.IsFinite(before));
        Assert.True(after < before, $"loss should drop after one SGD step: {before} -> {after}");
    }

    [Fact]
    public void AllocatorTuningIsActiveOnLinux()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(NativeMemoryTuning.Apply());
        Assert.True(NativeMemoryTuning.IsApplied);
    }
}
