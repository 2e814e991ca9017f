using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Training;

/// <summary>The trainer validates on <c>IsValid</c> by default; training on every row is asked for, never a silent fallback.</summary>
public class ValidationDefaultTests
{
    private static ResNetTrainer.Options DefaultSplitOptions(List<int> batches) => new()
    {
        Architecture = Architectures.SimpleCnn, Epochs = 1, BatchSize = 8, Device = "cpu", Seed = 3, Log = TextWriter.Null,
        ChannelsLast = false, AfterBatch = (_, batch, _) => batches.Add(batch),
    };

    [Fact]
    public void DefaultOptionsTrainOnTheRowsWithIsValidFalseAndValidateOnTheOthers()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4);   // 32 training rows, 16 validation rows
        var batches = new List<int>();
        using var model = ml.MulticlassClassification.Trainers.ResNet(DefaultSplitOptions(batches)).Fit(data);
        Assert.Equal(32 / 8, batches.Count);
        Assert.NotNull(model.History[0].ValidLoss);
    }

    [Fact]
    public void DataWithoutIsValidIsRefusedUnlessEveryRowIsAskedFor()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Transforms.DropColumns("IsValid").Fit(SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4))
            .Transform(SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4));
        var batches = new List<int>();
        var error = Assert.Throws<ArgumentException>(() => new ResNetTrainer(DefaultSplitOptions(batches)).Fit(data));
        Assert.Contains("'IsValid'", error.Message);
        Assert.Contains("ValidationColumnName = null", error.Message);

        var everyRow = DefaultSplitOptions(batches);
        everyRow.ValidationColumnName = null;
        using var model = new ResNetTrainer(everyRow).Fit(data);
        Assert.Equal(48 / 8, batches.Count);
        Assert.Null(model.History[0].ValidLoss);
    }

    [Fact]
    public void AValidationSetBesideASplitterColumnIsRefusedNamingIt()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4);
        var options = DefaultSplitOptions([]);
        options.ValidationSet = data;
        var error = Assert.Throws<ArgumentException>(() => new ResNetTrainer(options).Fit(data));
        Assert.Contains("'IsValid'", error.Message);
        Assert.Contains("ValidationSet", error.Message);
    }

    [Fact]
    public void MissingColumnErrorsListTheColumnsOfTheRightTypeAndSuggestOne()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Transforms.CopyColumns("Tensor", "Pixels").Append(ml.Transforms.DropColumns("Pixels"))
            .Fit(SquaresData.Load(ml, perClassTrain: 2, perClassValid: 1)).Transform(SquaresData.Load(ml, perClassTrain: 2, perClassValid: 1));
        string message = Assert.Throws<ArgumentException>(() => new ResNetTrainer(DefaultSplitOptions([])).Fit(data)).Message;
        Assert.Contains("'Pixels'", message);
        Assert.Contains("set Options.FeatureColumnName = \"Tensor\"", message);
        Assert.DoesNotContain("Label", message);
    }
}
