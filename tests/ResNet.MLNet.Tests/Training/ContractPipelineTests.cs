using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Training;

/// <summary>The design's contract pipeline end to end on the project's synthetic image folder (tiny sizes).</summary>
public class ContractPipelineTests(ITestOutputHelper output)
{
    [Fact]
    public void FullPipelineTrainsValidatesEachEpochAndEvaluates()
    {
        string root = Path.Combine(Path.GetTempPath(), "resnet-mlnet-trainer-" + Guid.NewGuid().ToString("N"));
        try
        {
            SyntheticImages.Create(root, new SyntheticImagesOptions
            {
                ClassCount = 4, TrainImagesPerClass = 16, ValidImagesPerClass = 4, MinSize = 40, MaxSize = 56, Seed = 2,
            });
            var ml = new MLContext(seed: 0);
            ImageFolder data = ml.Data.LoadImageFolder(root, validName: "val");
            var log = new StringWriter();
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadImageFiles("Image", "ImagePath"))
                .Append(ml.Transforms.PresizeImages("Image", size: 40, ResizeMethod.Crop))
                .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
                .AppendCacheCheckpoint(ml)
                .Append(ml.Transforms.AugmentImages("Pixels", new AugmentOptions { MinScale = 0.75f, Size = 32 }))
                .Append(ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet))
                .Append(ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
                {
                    FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
                    Epochs = 2, MaxLearningRate = 1e-2f, BatchSize = 16, Device = "cpu", Seed = 0, Log = log,
                }))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

            var model = pipeline.Fit(data.All);
            output.WriteLine(log.ToString());
            var trainer = model.OfType<ResNetTransformer>().Single();
            Assert.Equal(2, trainer.History.Count);
            Assert.All(trainer.History, m => Assert.True(double.IsFinite(m.TrainLoss) && m.ValidLoss is double v && double.IsFinite(v)));
            Assert.Equal(["circle", "cross", "square", "triangle"], trainer.ClassNames.Order());
            double last = trainer.History[^1].Accuracy!.Value;

            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
            Assert.Equal(last, metrics.MicroAccuracy, 6);
            Assert.Equal(trainer.History[^1].ValidLoss!.Value, metrics.LogLoss, 3);
            Assert.Equal(4, metrics.ConfusionMatrix.NumberOfClasses);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
