using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Training;

public sealed class DivergenceTests
{
    [Fact]
    public void TheLimitIsAHundredTimesTheFirstBatchLossOrLnClasses()
    {
        var guard = new DivergenceGuard(classCount: 10);
        guard.CheckTraining(loss: 1.0, smoothedLoss: 1.0, epoch: 0, batch: 0, learningRate: 1e-3);
        Assert.Equal(100 * Math.Log(10), guard.Limit!.Value, 9);      // ln(10) = 2.30 > the first loss

        var high = new DivergenceGuard(classCount: 2);
        high.CheckTraining(loss: 5.0, smoothedLoss: 5.0, epoch: 0, batch: 0, learningRate: 1e-3);
        Assert.Equal(500, high.Limit!.Value, 9);
        high.CheckTraining(loss: 400, smoothedLoss: 499, epoch: 0, batch: 1, learningRate: 1e-3);

        var batch = Assert.Throws<TrainingDivergedException>(() => high.CheckTraining(loss: 1e4, smoothedLoss: 501, epoch: 1, batch: 3, learningRate: 0.5));
        Assert.Equal((1, 3, 501.0, 500.0), (batch.Epoch, batch.Batch, batch.Loss, batch.Limit!.Value));
        Assert.Contains("the smoothed training loss reached 501 at epoch 1, batch 3", batch.Message, StringComparison.Ordinal);
        var nan = Assert.Throws<TrainingDivergedException>(() => high.CheckTraining(double.NaN, double.NaN, epoch: 2, batch: 0, learningRate: 0.5));
        Assert.Null(nan.Limit);
    }

    [Fact]
    public void OnlyANonFiniteValidationLossStopsTraining()
    {
        DivergenceGuard.CheckValidation(9.96e13, epoch: 0, learningRate: 3e-3);
        foreach (double loss in new[] { double.NaN, double.PositiveInfinity })
        {
            var valid = Assert.Throws<TrainingDivergedException>(() => DivergenceGuard.CheckValidation(loss, epoch: 2, learningRate: 0.5));
            Assert.Contains($"the validation loss became {loss} at epoch 2 (", valid.Message, StringComparison.Ordinal);
            Assert.Equal((2, -1), (valid.Epoch, valid.Batch));
            Assert.Null(valid.Limit);
        }
    }

    [Fact]
    public void AHugeFiniteValidationLossDoesNotStopAFit()
    {
        var history = FitWithValidationLoss(1e12f);
        Assert.Equal([(double)1e12f, 1e12f], history.Select(m => m.ValidLoss!.Value));
    }

    [Fact]
    public void ANaNValidationLossStopsAFitInItsEpoch()
    {
        var error = Assert.Throws<TrainingDivergedException>(() => FitWithValidationLoss(float.NaN));
        Assert.Equal((0, -1), (error.Epoch, error.Batch));
        Assert.Contains("the validation loss became NaN at epoch 0", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Two epochs whose every validation batch reports <paramref name="loss"/>.</summary>
    private static IReadOnlyList<EpochMetrics> FitWithValidationLoss(float loss)
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 2);
        var options = SquaresData.TrainerOptions(epochs: 2);
        options.Callbacks.Add(new ValidationLoss(loss));
        using var model = new ResNetTrainer(options).Fit(data);
        return model.History;
    }

    private sealed class ValidationLoss(float loss) : LearnerCallback
    {
        public override bool RunsInTraining => false;
        public override void AfterLoss(LearnerState state) => state.Loss = TorchSharp.torch.tensor(loss);
    }

    [Fact]
    public void AnExplodingButFiniteLossStopsTraining()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        var options = SquaresData.TrainerOptions(epochs: 2, seed: 7);
        options.MaxLearningRate = 1000f;
        options.Architecture = new Architecture("LinearNet", c => TorchSharp.torch.nn.Sequential(TorchSharp.torch.nn.Flatten(),
            TorchSharp.torch.nn.Linear(3 * 16 * 16, c)), defaultImageSize: 32);

        var error = Assert.Throws<TrainingDivergedException>(() => new ResNetTrainer(options).Fit(data));

        Assert.NotNull(error.Limit);
        Assert.True(double.IsFinite(error.Loss) && error.Loss > error.Limit, $"{error.Loss} vs {error.Limit}");
    }

    [Fact]
    public void EpochTableKeepsItsColumnsForAnyMagnitude()
    {
        string header = EpochTable.Header.TrimEnd();
        string row = EpochTable.Row(new EpochMetrics(12, 5420709.759451995, 9.96e13, 0.333333, TimeSpan.FromSeconds(75)));

        string[] values = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["12", "5.421E+6", "9.96E+13", "0.333333", "01:15"], values);
        foreach (var (name, value) in new[] { ("train_loss", "5.421E+6"), ("valid_loss", "9.96E+13"), ("accuracy", "0.333333"), ("time", "01:15") })
            Assert.Equal(header.IndexOf(name, StringComparison.Ordinal), row.IndexOf(value, StringComparison.Ordinal));
        Assert.Equal(header.IndexOf("valid_loss", StringComparison.Ordinal),
            EpochTable.Row(new EpochMetrics(0, 1.934312, 1.77241, 0.402, TimeSpan.FromSeconds(41))).IndexOf("1.772410", StringComparison.Ordinal));
    }

    [Fact]
    public void ASingleClassIsRefusedBeforeTraining()
    {
        var ml = new MLContext(seed: 0);
        var rows = SquaresData.Rows(perClassTrain: 8, perClassValid: 2).Where(r => r.Label == SquaresData.Classes[0]).ToArray();
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var options = SquaresData.TrainerOptions();

        var error = Assert.Throws<ArgumentException>(() => new ResNetTrainer(options).Fit(data));

        Assert.Contains("has 1 class(es); training needs at least 2", error.Message, StringComparison.Ordinal);
    }
}
