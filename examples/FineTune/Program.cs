using Microsoft.ML;
using ResNet.MLNet;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

// fastai's vision_learner(dls, resnet18).fine_tune(2) on a folder with train/ and val/ class folders
// (default: the built-in synthetic set).
string root = args.Length > 0 ? args[0] : SyntheticImages.GetOrCreate();
var ml = new MLContext(seed: 0);
ImageFolder data = ml.Data.LoadImageFolder(root, validName: "val");

var pipeline = ml.Transforms.ImageClassificationPreprocessing(new ImagePreprocessingOptions { Presize = 160, Size = 128 })
    .Append(ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
    {
        FeatureColumnName = "Pixels", ValidationColumnName = "IsValid",
        Architecture = Architectures.ImageNetResNet18, Pretrained = ImageNetWeights.Keyword,   // ImageNet body, new head
        FineTune = true, Epochs = 2, MaxLearningRate = 2e-3f,                                   // one frozen epoch, then 2
    }))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

ITransformer model = pipeline.Fit(data.All);
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
Console.WriteLine($"accuracy {metrics.MicroAccuracy:F4}");
ml.Model.Save(model, data.All.Schema, "fine-tuned.zip");
