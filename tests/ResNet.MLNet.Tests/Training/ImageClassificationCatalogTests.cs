using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Training;

/// <summary>The one-call pipeline: preprocessing and trainer agree at their defaults, and its model needs no extra step.</summary>
public class ImageClassificationCatalogTests
{
    [Fact]
    public void PreprocessingWritesTheColumnsTheTrainerReadsAtTheirDefaults()
    {
        using var temp = new TempFolder();
        string root = SyntheticImages.Create(temp.Combine("data"), new SyntheticImagesOptions
        {
            ClassCount = 2, TrainImagesPerClass = 2, ValidImagesPerClass = 1, MinSize = 40, MaxSize = 48,
        });
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(root);
        var schema = ml.Transforms.ImageClassificationPreprocessing().Fit(data.All).Transform(data.All).Schema;
        var defaults = new ResNetTrainer.Options();
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 128, 128), schema[defaults.FeatureColumnName].Type);
        Assert.IsType<KeyDataViewType>(schema[defaults.LabelColumnName].Type);
        Assert.Equal(BooleanDataViewType.Instance, schema[defaults.ValidationColumnName!].Type);
    }

    [Fact]
    public void FittedOnAFolderItValidatesOnIsValidAndItsReloadedModelFeedsAPredictionEngine()
    {
        using var temp = new TempFolder();
        string root = SyntheticImages.Create(temp.Combine("data"), new SyntheticImagesOptions
        {
            ClassCount = 3, TrainImagesPerClass = 8, ValidImagesPerClass = 4, MinSize = 36, MaxSize = 44, Seed = 5,
        });
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(root);
        var batches = new List<int>();
        var pipeline = ml.MulticlassClassification.ImageClassification(new ImagePreprocessingOptions { Presize = 36, Size = 32 },
            new ResNetTrainer.Options
            {
                Architecture = Architectures.SimpleCnn, Epochs = 1, BatchSize = 4, Device = "cpu", Seed = 0, Log = TextWriter.Null,
                ChannelsLast = false, AfterBatch = (_, batch, _) => batches.Add(batch),
            });
        var model = pipeline.Fit(data.All);
        Assert.Equal(3 * 8 / 4, batches.Count);   // the training images only
        Assert.NotNull(model.OfType<ResNetTransformer>().Single().History[0].ValidLoss);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
        Assert.InRange(metrics.MicroAccuracy, 0, 1);

        string path = temp.Combine("model.zip");
        ml.Model.Save(model, data.All.Schema, path);
        var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(new MLContext().Model.Load(path, out _));
        var prediction = engine.Predict(new ImageInput { ImagePath = data.Items[0].ImagePath });
        Assert.Contains(prediction.PredictedLabel, data.Classes);
        Assert.Equal(3, prediction.Score.Length);
        Assert.Equal(data.Classes.Order(), ImagePrediction.GetClassNames(engine.OutputSchema).Order());
    }

    [Fact]
    public void TrainerColumnsThatDifferFromThePreprocessingsAreRefusedNamingBoth()
    {
        var ml = new MLContext();
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.ImageClassification(
            new ImagePreprocessingOptions { FeatureColumnName = "Image" }, new ResNetTrainer.Options()));
        Assert.Contains("'Pixels'", error.Message);
        Assert.Contains("'Image'", error.Message);
    }
}
