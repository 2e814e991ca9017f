using System.CommandLine;
using Microsoft.ML;
using ResNet.MLNet.Onnx;

namespace ResNet.MLNet.Cli.Commands;

/// <summary><c>resnet-mlnet predict</c>: classifies image files (or every image under folders) with a saved model.zip.</summary>
public static class PredictCommand
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp",
    };

    /// <summary>Builds the <c>predict</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model.zip to predict with.", Required = true };
        var top = new Option<int>("--top", "-k") { Description = "How many of the most probable classes to print.", DefaultValueFactory = _ => 1 };
        var paths = new Argument<string[]>("paths") { Description = "Image files or folders (searched recursively).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Predict the class of image files with a model.zip; prints path, label and probability (top-k with -k).");
        command.Options.Add(model);
        command.Options.Add(top);
        command.Arguments.Add(paths);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, writer =>
        {
            int k = parseResult.GetValue(top);
            if (k < 1) throw new ArgumentException($"--top must be at least 1, got {k}.");
            var files = ExpandImages(parseResult.GetValue(paths)!);
            var ml = new MLContext(seed: 0);
            var transformer = ModelZip.Load(ml, Path.GetFullPath(parseResult.GetValue(model)!), out _);
            using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(transformer);
            string[] classes = ImagePrediction.GetClassNames(engine.OutputSchema);
            k = Math.Min(k, classes.Length);
            foreach (string file in files)
            {
                var prediction = engine.Predict(new ImageInput { ImagePath = file });
                var best = prediction.TopK(k, classes);
                writer.WriteLine($"{file}\t{best[0].Label}\t{best[0].Probability:F4}" +
                    string.Concat(best.Skip(1).Select(c => $"\t{c.Label}\t{c.Probability:F4}")));
            }
        }));
        return command;
    }

    private static IReadOnlyList<string> ExpandImages(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (string path in paths)
        {
            string full = Path.GetFullPath(path);
            if (File.Exists(full)) files.Add(full);
            else if (Directory.Exists(full))
                files.AddRange(Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal));
            else throw new FileNotFoundException($"No such image file or folder: {full}", full);
        }
        if (files.Count == 0) throw new ArgumentException("No images found in the given paths.");
        return files;
    }
}
