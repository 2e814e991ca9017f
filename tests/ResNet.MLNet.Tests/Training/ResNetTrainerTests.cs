using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Training;

public class ResNetTrainerTests(ITestOutputHelper output)
{
    private static ResNetTrainer.Options Options(StringWriter log, int epochs = 2) => new()
    {
        FeatureColumnName = "Pixels",
        ValidationColumnName = "IsValid",
        Architecture = Architectures.SimpleCnn,
        Epochs = epochs,
        MaxLearningRate = 1e-2f,
        BatchSize = 16,
        Device = "cpu",
        Seed = 7,
        Log = log,
    };

    [Fact]
    public void TrainsToHighValidationAccuracyAndEvaluateAgreesWithTheLastEpoch()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml);
        var log = new StringWriter();
        var reported = new List<EpochMetrics>();
        var options = Options(log, epochs: 3);
        options.MetricsCallback = reported.Add;
        var model = ml.MulticlassClassification.Trainers.ResNet(options).Fit(data);

        Assert.Equal(3, model.History.Count);
        Assert.Equal(model.History, reported);
        double lastAccuracy = model.History[^1].Accuracy!.Value;
        Assert.True(lastAccuracy >= 0.9, $"validation accuracy {lastAccuracy}\n{log}");

        var valid = ml.Data.FilterByCustomPredicate<SquaresFlag>(data, r => !r.IsValid);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(valid));
        Assert.Equal(lastAccuracy, metrics.MicroAccuracy, 6);
        Assert.Equal(model.History[^1].ValidLoss!.Value, metrics.LogLoss, 3);

        string text = log.ToString();
        output.WriteLine(text);
        Assert.Contains("epoch     train_loss  valid_loss  accuracy  time", text);
        Assert.Equal(4, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Length > 0 && !l.StartsWith("note", StringComparison.Ordinal)));
    }

    private sealed class SquaresFlag
    {
        public bool IsValid { get; set; }
    }
}
