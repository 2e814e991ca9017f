using System.CommandLine;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet evaluate</c>: scores an image folder with a saved model.zip and reports accuracy, log-loss, a
/// per-class table, the confusion matrix (PNG) and the most confused pairs, like fastai's interpretation.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>Builds the <c>evaluate</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model.zip to evaluate.", Required = true };
        var data = new Option<string>("--data") { Description = "Data selection as for train (synthetic, a dataset name or a folder).", DefaultValueFactory = _ => DatasetSources.Synthetic };
        var split = new Option<string>("--split") { Description = "valid (default), train or all.", DefaultValueFactory = _ => "valid" };
        split.AcceptOnlyFromAmong("valid", "train", "all");
        var output = new Option<string?>("--out", "-o") { Description = "Folder for metrics.json and confusion.png (default: beside the model)." };
        var cache = new Option<string?>("--cache") { Description = "Dataset cache folder." };
        var command = new Command("evaluate", "Evaluate a model.zip on an image folder: accuracy, log-loss, per-class table, confusion matrix, most confused.");
        foreach (Option option in new Option[] { model, data, split, output, cache })
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            string modelPath = Path.GetFullPath(parseResult.GetValue(model)!);
            string root = await DatasetSources.ResolveAsync(parseResult.GetValue(data)!, parseResult.GetValue(cache), cancellationToken: cancellationToken).ConfigureAwait(false);
            var ml = new MLContext(seed: 0);
            var transformer = ModelZip.Load(ml, modelPath, out _);
            var folder = ml.Data.LoadImageFolder(root, validName: "val");
            var rows = parseResult.GetValue(split) switch { "train" => folder.Train, "all" => folder.All, _ => folder.Valid };
            var scored = transformer.Transform(rows);
            var report = new ClassificationReport(ml.MulticlassClassification.Evaluate(scored), ImagePrediction.GetClassNames(scored.Schema));

            string outputFolder = Path.GetFullPath(parseResult.GetValue(output) ?? Path.GetDirectoryName(modelPath)!);
            Directory.CreateDirectory(outputFolder);
            report.SaveJson(Path.Combine(outputFolder, "metrics.json"));
            report.SaveConfusionMatrixPng(Path.Combine(outputFolder, "confusion.png"));
            writer.WriteLine($"model: {modelPath}");
            writer.WriteLine($"data: {root} ({parseResult.GetValue(split)} split)");
            report.WriteText(writer);
            writer.WriteLine($"written: metrics.json, confusion.png in {outputFolder}");
        }));
        return command;
    }
}
