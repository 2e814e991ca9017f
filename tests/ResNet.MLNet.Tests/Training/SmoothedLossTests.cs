using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Training;

public class SmoothedLossTests
{
    [Fact]
    public void IsTheDebiasedExponentialMovingAverage()
    {
        var s = new SmoothedLoss();
        Assert.True(double.IsNaN(s.Value));
        Assert.Equal(1.0, s.Add(1), 12);
        // (0.98·0.02 + 0.02·2) / (1 − 0.98²)
        Assert.Equal(1.5050505050505, s.Add(2), 10);
        Assert.Equal(2.0134675554346, s.Add(3), 10);
        Assert.Equal(3, s.Count);
    }
}
