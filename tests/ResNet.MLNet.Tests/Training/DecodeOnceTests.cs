using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Tests.Cli;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Tests.Transforms;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Training;

/// <summary>
/// Each image file is decoded once per Fit (the cache checkpoint or the image cache serves every epoch, the validation
/// passes and the LR finder), and with a cache checkpoint once per later Transform; with an image cache on disk, later
/// runs decode nothing. Counted through the library's decode counter.
/// </summary>
public sealed class DecodeOnceTests : IDisposable
{
    private const int Classes = 3, TrainPerClass = 8, ValidPerClass = 3;
    private const int TrainImages = Classes * TrainPerClass, ValidImages = Classes * ValidPerClass;
    private readonly TempFolder _temp = new();
    private readonly string _root;

    public DecodeOnceTests() => _root = SyntheticImages.Create(_temp.Combine("data"), new SyntheticImagesOptions
    {
        ClassCount = Classes, TrainImagesPerClass = TrainPerClass, ValidImagesPerClass = ValidPerClass, MinSize = 36, MaxSize = 48,
    });

    public void Dispose() => _temp.Dispose();

    private static EstimatorChain<ITransformer> Preprocessing(MLContext ml) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImageFiles("Image", "ImagePath"))
            .Append(ml.Transforms.PresizeImages("Image", size: 40, ResizeMethod.Crop))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.Transforms.AugmentImages("Pixels", new AugmentOptions { MinScale = 0.75f, Size = 32 }))
            .Append(ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet));

    private static ResNetTrainer.Options TrainerOptions(TextWriter log) => new()
    {
        FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
        Epochs = 3, MaxLearningRate = 1e-2f, BatchSize = 4, Device = "cpu", Seed = 0, Log = log,
    };

    [Fact]
    public void TheContractPipelineWithAValidationColumnDecodesEachImageOncePerFitAndOncePerTransform()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        var log = new StringWriter();
        var pipeline = Preprocessing(ml).Append(ml.MulticlassClassification.Trainers.ResNet(TrainerOptions(log)));
        using var decoded = new DecodeCounter();

        var model = pipeline.Fit(data.All);
        Assert.Equal(3, model.LastTransformer.History.Count);
        Assert.All(model.LastTransformer.History, m => Assert.NotNull(m.Accuracy));
        Assert.Equal(TrainImages + ValidImages, decoded.Count);
        Assert.DoesNotContain("decodes the image files again", log.ToString(), StringComparison.Ordinal);

        ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
        Assert.Equal(TrainImages + 2 * ValidImages, decoded.Count);
        model.LastTransformer.Dispose();
    }

    [Fact]
    public void TheLearningRateFinderReadsThroughTheChainsCacheAcrossPasses()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using var decoded = new DecodeCounter();

        // 6 training batches per pass: 20 iterations take 4 passes.
        var result = new LearningRateFinder(TrainerOptions(TextWriter.Null)) { Iterations = 20, StopOnDivergence = false }
            .Find(Preprocessing(ml), data.All);
        Assert.Equal(20, result.LearningRates.Count);
        Assert.Equal(TrainImages + ValidImages, decoded.Count);
    }

    [Fact]
    public void ANestedChainLosesItsCheckpointAndTheTrainerSaysSo()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        var log = new StringWriter();
        var nested = new EstimatorChain<ITransformer>().Append(Preprocessing(ml));   // the chain is one estimator: fitted as one step
        var pipeline = nested.Append(ml.MulticlassClassification.Trainers.ResNet(TrainerOptions(log)));
        using var decoded = new DecodeCounter();

        var model = pipeline.Fit(data.All);
        Assert.True(decoded.Count >= 3 * TrainImages, $"{decoded.Count} decodes");
        Assert.Single(log.ToString().Split('\n'), line => line.Contains("decodes the image files again", StringComparison.Ordinal));
        model.OfType<ResNetTransformer>().Single().Dispose();
    }

    [Fact]
    public async Task TheCliDecodesEachImageOnceForTrainingAndEvaluation()
    {
        using var decoded = new DecodeCounter();
        var (code, output, error) = await CliRun.RunAsync("train", "--data", _root, "--arch", "SimpleCnn", "--epochs", "3", "--bs", "4",
            "--size", "32", "--presize", "40", "--lr", "1e-3", "--out", _temp.Combine("run"));
        Assert.True(code == 0, error + output);
        Assert.Equal(TrainImages + ValidImages, decoded.Count);
        Assert.DoesNotContain("decodes the image files again", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAnImageCacheFolderALaterRunDecodesNothingAndEvaluateReusesTheStore()
    {
        string store = _temp.Combine("store");
        string[] train = ["train", "--data", _root, "--arch", "SimpleCnn", "--epochs", "1", "--bs", "4", "--size", "32", "--presize", "40",
            "--image-cache", store];
        var first = await CliRun.RunAsync([.. train, "--out", _temp.Combine("run1")]);
        Assert.True(first.Code == 0, first.Error + first.Output);
        Assert.Contains($"decoding {TrainImages + ValidImages} images", first.Output, StringComparison.Ordinal);

        using var decoded = new DecodeCounter();
        var (code, output, error) = await CliRun.RunAsync([.. train, "--out", _temp.Combine("run2")]);
        Assert.True(code == 0, error + output);
        Assert.Contains($"{TrainImages + ValidImages} of {TrainImages + ValidImages} images reused", output, StringComparison.Ordinal);
        var evaluated = await CliRun.RunAsync("evaluate", "--model", _temp.Combine("run2", "model.zip"), "--data", _root, "--image-cache", store);
        Assert.True(evaluated.Code == 0, evaluated.Error + evaluated.Output);
        Assert.Contains($"{ValidImages} of {ValidImages} images reused", evaluated.Output, StringComparison.Ordinal);
        Assert.Equal(0, decoded.Count);
    }

    [Fact]
    public async Task TheCliLearningRateFinderDecodesEachImageOnce()
    {
        using var decoded = new DecodeCounter();
        var (code, output, error) = await CliRun.RunAsync("lr-find", "--data", _root, "--arch", "SimpleCnn", "--bs", "4",
            "--size", "32", "--presize", "40", "--out", _temp.Combine("lr_find.png"));
        Assert.True(code == 0, error + output);
        Assert.Equal(TrainImages + ValidImages, decoded.Count);
    }
}
