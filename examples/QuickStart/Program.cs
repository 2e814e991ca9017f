using Microsoft.ML;
using ResNet.MLNet;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

var ml = new MLContext(seed: 0);
string root = SyntheticImages.GetOrCreate();                // the built-in shapes: 10 classes in train/ and val/
ImageFolder data = ml.Data.LoadImageFolder(root);           // columns ImagePath, Label, IsValid

var pipeline = ml.MulticlassClassification.ImageClassification(  // preprocessing → trainer → class names
    new ImagePreprocessingOptions { Presize = 72, Size = 64 },
    new ResNetTrainer.Options { Architecture = Architectures.SimpleCnn, Epochs = 3, MaxLearningRate = 1e-2f });
ITransformer model = pipeline.Fit(data.All);                // trains on IsValid = false, validates on the rest
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
Console.WriteLine($"accuracy {metrics.MicroAccuracy:P1}");
ml.Model.Save(model, data.All.Schema, "model.zip");

ITransformer loaded = new MLContext().Model.Load("model.zip", out _);
var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded);
string image = data.Items.First(item => item.IsValid).ImagePath;
ImagePrediction p = engine.Predict(new ImageInput { ImagePath = image });
Console.WriteLine($"{Path.GetFileName(image)}: {p.PredictedLabel} ({p.Score.Max():P1})");
