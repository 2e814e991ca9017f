using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using ResNet.MLNet.Visualization;
using TorchSharp;

namespace ResNet.MLNet.Tests.Training;

public class LearningRateFinderTests
{
    private static ResNetTrainer.Options Options() => new()
    {
        FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
        BatchSize = 8, Device = "cpu", Seed = 3, Log = TextWriter.Null,
    };

    [Fact]
    public void SuggestsAFiniteRateInsideTheRangeAndPlotsIt()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 2);
        var finder = new LearningRateFinder(Options());
        var result = finder.Find(data);

        Assert.InRange(result.LearningRates.Count, 15, 100);
        Assert.Equal(1e-7, result.LearningRates[0], 12);
        Assert.Equal(1e-7 * Math.Pow(1e8, 1 / 100.0), result.LearningRates[1], 12);
        // The suggestions come from the part of the sweep fastai looks at (the first 10 planned points and the last 5
        // skipped), and on this easy problem from the useful middle of it, far inside the 1e-7..10 sweep.
        var lrs = result.LearningRates;
        Assert.InRange(result.Valley, lrs[10], lrs[^6]);
        Assert.InRange(result.Steep, lrs[10], lrs[^6]);
        Assert.InRange(result.Minimum * 10, lrs[10], lrs[^6]);
        foreach (var kind in Enum.GetValues<LearningRateSuggestion>())
        {
            double lr = result.Suggestion(kind);
            Assert.True(lr >= 1e-5 && lr <= 1, $"{kind}: {lr:G3} (sweep {lrs[0]:G3}..{lrs[^1]:G3})");
        }
        string png = Path.Combine(Path.GetTempPath(), "resnet-mlnet-tests", "lr_find.png");
        LearningRatePlot.SavePng(result, png);
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Fact]
    public void RangeTestRestoresWeightsBatchNormStatisticsAndOptimiserState()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 2);
        using var run = ResNetTrainer.PrepareRangeTest(Options(), data);
        var before = run.Learner.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var result = LearningRateFinder.RangeTest(run, 1e-7, 10, 20, stopOnDivergence: true, CancellationToken.None);
        Assert.True(result.LearningRates.Count > 3);
        foreach (var (name, tensor) in run.Learner.Model.state_dict())
            Assert.True(tensor.eq(before[name]).all().item<bool>(), $"{name} changed");
        Assert.Equal(0, run.Recorder.Smoothed.Count);
        foreach (var p in run.Learner.Model.parameters()) Assert.Null(p.grad);
    }

    [Fact]
    public void ValleyMinimumAndSteepFollowFastai()
    {
        // A loss curve: flat, then falling (with a one-step dip between points 30 and 31), minimum at 60, then rising.
        int n = 80;
        var lrs = Enumerable.Range(0, n).Select(i => 1e-7 * Math.Pow(1e8, i / 100.0)).ToArray();
        var losses = Enumerable.Range(0, n).Select(i => i < 20 ? 2.0 : i <= 60 ? 2.0 - (i - 20) * 0.04 - (i == 31 ? 0.3 : 0) : 0.4 + (i - 60) * 0.1).ToArray();
        var r = new LearningRateFinderResult(lrs, losses, 100);
        // After skipping 10 points: the longest decreasing run ends at the minimum (index 60).
        Assert.Equal(lrs[60] / 10, r.Minimum, 15);
        // fastai's valley, worked by hand on points 10..74: the longest strictly decreasing subsequence is one of the
        // 2.0 points then 21..30 and 32..60 (the dip at 31 would cost 32..38): 40 points ending at index 60 (50 in the
        // window), so it is taken to start at 50 - 40 = 10; a third of it is 13.3, and the suggestion is
        // 10 + int(13.3) + int(13.3 / 2) = 29 in the window, index 39 of the sweep.
        Assert.Equal(lrs[39], r.Valley, 15);
    }

    [Fact]
    public void SteepIsTheRealDescentNotTheWobbleOfTheFlatStart()
    {
        // Flat with a ±0.06 wobble (single steps fall faster there than anywhere else), a gentle slope, then the real
        // descent between points 40 and 50, the minimum at 60, then rising.
        int n = 80;
        var lrs = Enumerable.Range(0, n).Select(i => 1e-7 * Math.Pow(1e8, i / 100.0)).ToArray();
        var losses = Enumerable.Range(0, n).Select(i =>
            i < 20 ? 2.0 + (i % 2 == 0 ? 0.06 : -0.06)
            : i < 40 ? 2.0 - (i - 20) * 0.01
            : i < 50 ? 1.8 - (i - 40) * 0.08
            : i < 60 ? 1.0 - (i - 50) * 0.02
            : 0.8 + (i - 60) * 0.1).ToArray();
        var r = new LearningRateFinderResult(lrs, losses, 100);
        Assert.InRange(r.Steep, lrs[40], lrs[50]);
        Assert.Equal(r.Steep, lrs[Array.IndexOf(lrs, r.Steep)]);
        Assert.Equal(losses[Array.IndexOf(lrs, r.Steep)], r.SteepLoss);
    }

    [Fact]
    public void ThePlotLeavesOutTheLastPointsAndStopsWhereTheLossDiverges()
    {
        // Flat at 2, down to 0.5 at point 70, then an explosion to 50: the plot ends before the loss passes 4 × 0.5.
        int n = 100;
        var lrs = Enumerable.Range(0, n).Select(i => 1e-7 * Math.Pow(1e8, i / 100.0)).ToArray();
        var losses = Enumerable.Range(0, n).Select(i => i < 50 ? 2.0 : i <= 70 ? 2.0 - (i - 50) * 0.075 : 0.5 * Math.Pow(1.25, i - 70)).ToArray();
        var exploding = new LearningRateFinderResult(lrs, losses, 100);
        int plotted = LearningRatePlot.PlottedPoints(exploding);
        Assert.True(losses[plotted] > 4 * 0.5 && losses[plotted - 1] <= 4 * 0.5, $"stops at {plotted}");
        var curve = LearningRatePlot.Create(exploding).Series.OfType<OxyPlot.Series.LineSeries>().Single();
        Assert.Equal(plotted, curve.Points.Count);
        Assert.True(curve.Points.Max(p => p.Y) <= 2.0);

        var falling = new LearningRateFinderResult(lrs, Enumerable.Range(0, n).Select(i => 2.0 - i * 0.01).ToArray(), 100);
        Assert.Equal(n - LearningRatePlot.SkippedEndPoints, LearningRatePlot.PlottedPoints(falling));
    }
}
