using System.CommandLine;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.IO;
using ResNet.MLNet.Interpretation;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet show-results</c>: fastai's <c>show_results</c> for a saved model.zip. Scores a split of an image
/// folder and writes a PNG grid of images titled with their actual and predicted class, green when right, red when wrong.
/// </summary>
public static class ShowResultsCommand
{
    /// <summary>Builds the <c>show-results</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model.zip to predict with.", Required = true };
        var data = new Option<string>("--data") { Description = "Data selection as for train (synthetic, a dataset name or a folder).", DefaultValueFactory = _ => Datasets.Synthetic };
        var split = new Option<string>("--split") { Description = "valid (default), train or all.", DefaultValueFactory = _ => "valid" };
        split.AcceptOnlyFromAmong("valid", "train", "all");
        var maxN = new Option<int>("--max-n") { Description = "Number of images, evenly spaced through the split.", DefaultValueFactory = _ => 9 };
        var output = new Option<string?>("--out", "-o") { Description = "The grid's PNG file (default: show_results.png beside the model)." };
        var cache = new Option<string?>("--cache") { Description = "Dataset cache folder." };
        var command = new Command("show-results", "Write a PNG grid of images with their actual and predicted classes, green when right, red when wrong (fastai's show_results).");
        foreach (Option option in new Option[] { model, data, split, maxN, output, cache })
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            int n = parseResult.GetValue(maxN);
            if (n < 1) throw new ArgumentException($"--max-n must be at least 1, got {n}.");
            string modelPath = Path.GetFullPath(parseResult.GetValue(model)!);
            string path = parseResult.GetValue(output) is string o ? OptionChecks.OutputFile("show-results", o, "show_results.png", ".png")
                : Path.Combine(Path.GetDirectoryName(modelPath)!, "show_results.png");
            string root = await Datasets.ResolveAsync(parseResult.GetValue(data)!, parseResult.GetValue(cache), cancellationToken: cancellationToken).ConfigureAwait(false);
            var ml = ScratchFolder.NewContext(0);
            var transformer = ModelZip.Load(ml, modelPath, out _);
            var folder = ml.Data.LoadImageFolder(root);
            var rows = parseResult.GetValue(split) switch { "train" => folder.Train, "all" => folder.All, _ => folder.Valid };
            var interpretation = ClassificationInterpretation.FromScored(transformer.Transform(rows));
            string written = interpretation.ShowResults(n, path);
            writer.WriteLine($"accuracy {interpretation.Accuracy:F4} on {interpretation.Items.Count} images ({parseResult.GetValue(split)} split)");
            writer.WriteLine($"written: {written}");
        }));
        return command;
    }
}
