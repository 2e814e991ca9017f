using System.Globalization;
using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Training;

/// <summary>
/// The same seed gives the same history as a recorded run of the same recipe: fit_one_cycle with a metric, MixUp with
/// label smoothing, CutMix with gradient accumulation, save-best with early stopping, fine_tune, and the LR finder. The
/// recorded figures were taken from the trainer before its loop was restructured; a change to the loop, its callbacks or
/// its schedules that moves any of them changes behaviour. Squares at 16 px, SimpleCnn (or torchvision's ResNet-18 for
/// fine_tune), NCHW fp32 on the CPU.
/// </summary>
public class RecordedHistoryTests(ITestOutputHelper output)
{
    // Losses agree to this relative difference: CPUs with other vector units round a few operations differently.
    private const double Tolerance = 2e-3;

    public static TheoryData<string> Recipes => ["one-cycle", "mixup", "cutmix-accumulate", "save-best-early-stop", "fine-tune"];

    [Theory]
    [MemberData(nameof(Recipes))]
    public void TheSameSeedRepeatsTheRecordedHistory(string recipe)
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        var options = SquaresData.TrainerOptions(epochs: 2);
        switch (recipe)
        {
            case "one-cycle":
                options.Metrics = [new ErrorRate()];
                break;
            case "mixup":
                options.Callbacks = [new MixUp(0.4f)];
                options.LabelSmoothing = 0.1f;
                break;
            case "cutmix-accumulate":
                options.Callbacks = [new CutMix(1f), new GradientAccumulation(2)];
                break;
            case "save-best-early-stop":
                options.Epochs = 6;
                options.MaxLearningRate = 0.03f;
                options.Callbacks = [new SaveBestModel(), new EarlyStopping(patience: 1)];
                break;
            case "fine-tune":
                options.Architecture = Architectures.TorchVisionResNet18;
                options.Schedule = TrainingSchedule.FineTune();
                options.Epochs = 1;
                options.MaxLearningRate = 2e-3f;
                break;
        }
        using var model = new ResNetTrainer(options).Fit(data);
        var actual = model.History.Select(e => new[] { e.TrainLoss, e.ValidLoss!.Value, e.Accuracy!.Value, e.IsBest ? 1 : 0 }).ToArray();
        output.WriteLine($"[\"{recipe}\"] = [{string.Join(", ", actual.Select(r => $"[{string.Join(", ", r.Select(Format))}]"))}],");

        var expected = Recorded[recipe];
        Assert.Equal(expected.Length, actual.Length);
        for (int epoch = 0; epoch < expected.Length; epoch++)
            for (int column = 0; column < Columns.Length; column++)
                Assert.True(Close(expected[epoch][column], actual[epoch][column]),
                    $"{recipe}, epoch {epoch}, {Columns[column]}: recorded {expected[epoch][column]:G7}, now {actual[epoch][column]:G7}");
        if (recipe == "one-cycle")
            Assert.Equal(1 - actual[^1][2], model.History[^1].Metrics["error_rate"], 6);
    }

    [Fact]
    public void TheLearningRateFinderRepeatsTheRecordedSweep()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 2);
        var result = new LearningRateFinder(SquaresData.TrainerOptions()) { Iterations = 30 }.Find(data);
        output.WriteLine($"losses: [{string.Join(", ", result.Losses.Select(Format))}]");
        output.WriteLine($"valley {Format(result.Valley)}, steep {Format(result.Steep)}, minimum {Format(result.Minimum)}");

        Assert.Equal(RecordedFinderLosses.Length, result.Losses.Count);
        for (int i = 0; i < RecordedFinderLosses.Length; i++)
        {
            Assert.Equal(1e-7 * Math.Pow(1e8, i / 30.0), result.LearningRates[i], 1e-9 * result.LearningRates[i]);
            Assert.True(Close(RecordedFinderLosses[i], result.Losses[i]), $"point {i}: recorded {RecordedFinderLosses[i]:G7}, now {result.Losses[i]:G7}");
        }
    }

    private static readonly string[] Columns = ["train_loss", "valid_loss", "accuracy", "is_best"];

    private static bool Close(double expected, double actual) => Math.Abs(expected - actual) <= Tolerance * Math.Max(1, Math.Abs(expected));

    private static string Format(double value) => value.ToString("G7", CultureInfo.InvariantCulture);

    // train_loss, valid_loss, accuracy, is_best per epoch.
    private static readonly Dictionary<string, double[][]> Recorded = new()
    {
        ["one-cycle"] = [[1.14396, 1.027189, 0.6875, 0], [0.7570204, 0.4510539, 0.9375, 0]],
        ["mixup"] = [[1.258416, 1.141732, 0.6875, 0], [1.116063, 0.752417, 0.875, 0]],
        ["cutmix-accumulate"] = [[1.305894, 1.172172, 0.6875, 0], [1.199296, 0.9022948, 0.6875, 0]],
        // The validation loss rises after epoch 0: early stopping ends the run, and the best epoch is the first.
        ["save-best-early-stop"] = [[1.141406, 0.9842078, 0.625, 1], [0.8458283, 5.699862, 0.5, 0]],
        // One frozen epoch, then one of the whole network.
        ["fine-tune"] = [[2.040776, 1.657771, 0.25, 0], [1.250075, 1.800642, 0.25, 0]],
    };

    private static readonly double[] RecordedFinderLosses =
    [
        1.238203, 1.314801, 1.385416, 1.374857, 1.402774, 1.389748, 1.420321, 1.412999, 1.406172, 1.415694,
        1.420513, 1.410352, 1.419578, 1.41576, 1.426249, 1.416655, 1.404669, 1.375666, 1.333552, 1.297058,
        1.25583, 1.210732, 1.198686, 1.244368, 1.257986, 1.503125, 1.818321, 2.597006, 3.204115, 5.807314,
    ];
}
