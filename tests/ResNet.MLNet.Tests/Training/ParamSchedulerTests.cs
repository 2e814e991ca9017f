using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Training;

public class ParamSchedulerTests
{
    [Fact]
    public void LearningRateMatchesFastaiAtStartPeakAndEnd()
    {
        var s = ParamScheduler.OneCycle(1e-2);
        Assert.Equal(1e-2 / 25, s.LearningRate(0), 12);
        Assert.Equal(1e-2, s.LearningRate(0.25), 12);
        Assert.Equal(1e-2 / 1e5, s.LearningRate(1), 15);
        // Halfway through the warm-up the cosine is halfway: start + (1 + cos(π/2))(end − start)/2.
        Assert.Equal(4e-4 + (1e-2 - 4e-4) / 2, s.LearningRate(0.125), 12);
        // Halfway through the annealing phase.
        Assert.Equal(1e-7 + (1e-2 - 1e-7) / 2, s.LearningRate(0.625), 12);
    }

    [Fact]
    public void MomentumMirrorsTheLearningRate()
    {
        var s = ParamScheduler.OneCycle(3e-3);
        Assert.Equal(0.95, s.Momentum(0), 12);
        Assert.Equal(0.85, s.Momentum(0.25), 12);
        Assert.Equal(0.95, s.Momentum(1), 12);
        Assert.Equal(0.90, s.Momentum(0.125), 12);
    }

    [Fact]
    public void CosineIsFastaisSchedCos()
    {
        Assert.Equal(2.0, ParamScheduler.Cosine(2, 10, 0), 12);
        Assert.Equal(10.0, ParamScheduler.Cosine(2, 10, 1), 12);
        Assert.Equal(2 + (1 + Math.Cos(Math.PI * 0.7)) * 8 / 2, ParamScheduler.Cosine(2, 10, 0.3), 12);
    }

    [Fact]
    public void RangeTestGrowsExponentiallyWithConstantMomentum()
    {
        var s = ParamScheduler.RangeTest(1e-7, 10, 100);
        Assert.Equal(1e-7, s.LearningRate(0));
        Assert.Equal(1e-7 * Math.Pow(1e8, 0.3), s.LearningRate(0.3), 15);
        Assert.Equal(10, s.LearningRate(1), 12);
        Assert.Equal(0.9, s.Momentum(0.5));
    }

    [Fact]
    public void RejectsBadSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ParamScheduler.OneCycle(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParamScheduler.OneCycle(1e-3, pctStart: 1));
    }
}
