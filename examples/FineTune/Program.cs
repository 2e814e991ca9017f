using Microsoft.ML;
using ResNet.MLNet;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

// fastai's vision_learner(dls, resnet18).fine_tune(2) on a folder of train/<class>/* and val/<class>/* images
// (without an argument, on the built-in shapes).
string root = args.Length > 0 ? args[0] : SyntheticImages.GetOrCreate();
var ml = new MLContext(seed: 0);
ImageFolder data = ml.Data.LoadImageFolder(root);

var pipeline = ml.MulticlassClassification.ImageClassification(
    new ImagePreprocessingOptions { Presize = 160, Size = 128 },
    new ResNetTrainer.Options
    {
        Architecture = Architectures.ImageNetResNet18, InitialWeights = StartingWeights.ImageNet(),   // ImageNet body, new head
        Schedule = TrainingSchedule.FineTune(), Epochs = 2, MaxLearningRate = 2e-3f,                  // one frozen epoch, then two
    });
ITransformer model = pipeline.Fit(data.All);
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
Console.WriteLine($"accuracy {metrics.MicroAccuracy:P1}");
ml.Model.Save(model, data.All.Schema, "fine-tuned.zip");
