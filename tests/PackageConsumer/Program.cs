// An application outside this repository: references the packed ResNet.MLNet and libtorch-cpu-linux-x64 only.
// Trains on a tiny synthetic folder, saves model.zip, reloads it and predicts one image.
using Microsoft.ML;
using ResNet.MLNet;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

string root = SyntheticImages.Create(Path.Combine(args[0], "images"), new SyntheticImagesOptions
{
    ClassCount = 3, TrainImagesPerClass = 8, ValidImagesPerClass = 2, MinSize = 40, MaxSize = 48,
});
var ml = new MLContext(seed: 0);
ImageFolder data = ml.Data.LoadImageFolder(root);
var pipeline = ml.MulticlassClassification.ImageClassification(
    new ImagePreprocessingOptions { Presize = 40, Size = 32 },
    new ResNetTrainer.Options { Architecture = Architectures.SimpleCnn, Epochs = 1, BatchSize = 8, Device = "cpu", Seed = 0 });
ITransformer model = pipeline.Fit(data.All);
string modelPath = Path.Combine(args[0], "model.zip");
ml.Model.Save(model, data.All.Schema, modelPath);

var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(new MLContext().Model.Load(modelPath, out _));
ImagePrediction p = engine.Predict(new ImageInput { ImagePath = data.Items[0].ImagePath });
Console.WriteLine($"predicted {p.PredictedLabel} for {Path.GetFileName(data.Items[0].ImagePath)}");
