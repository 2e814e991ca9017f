using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>
/// The chapter's pipeline (ImageClassificationPreprocessing) fitted once on tiny synthetic images (3 classes, the plain CNN at 32 px, 2 epochs) and saved
/// as model.zip; shared by the tests that score, interpret and serve a trained model.
/// </summary>
public sealed class TrainedClassifier : IDisposable
{
    private readonly TempFolder _temp = new();

    public TrainedClassifier()
    {
        NativeMemoryTuning.Apply();
        DataFolder = SyntheticImages.Create(_temp.Combine("data"), new SyntheticImagesOptions
        {
            ClassCount = 3, TrainImagesPerClass = 10, ValidImagesPerClass = 5, MinSize = 36, MaxSize = 48, Seed = 3,
        });
        Ml = new MLContext(seed: 0);
        Data = Ml.Data.LoadImageFolder(DataFolder, validName: "val");
        var pipeline = Ml.Transforms.ImageClassificationPreprocessing(new ImagePreprocessingOptions { Presize = 40, Size = 32 })
            .Append(Ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
            {
                FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
                Epochs = 2, MaxLearningRate = 1e-2f, BatchSize = 6, Device = "cpu", Seed = 1, Log = TextWriter.Null,
                ShowProgressBar = false,
            }))
            .Append(Ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        Model = pipeline.Fit(Data.All);
        ModelPath = _temp.Combine("model.zip");
        Ml.Model.Save(Model, Data.All.Schema, ModelPath);
        ValidImages = Data.Valid.GetColumn<string>("ImagePath").ToArray();
        ValidLabels = Data.Valid.GetColumn<string>("Label").ToArray();
    }

    public MLContext Ml { get; }
    public string DataFolder { get; }
    public ImageFolder Data { get; }
    public ITransformer Model { get; }
    public string ModelPath { get; }
    public string[] ValidImages { get; }
    public string[] ValidLabels { get; }

    public string Combine(params string[] parts) => _temp.Combine(parts);

    public void Dispose() => _temp.Dispose();
}
