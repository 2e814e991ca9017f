using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text;
using Microsoft.ML;
using ResNet.MLNet.IO;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet predict</c>: classifies image files (or every image under folders, hidden ones skipped) with a saved
/// model.zip. A file that fails the image checks is reported as an <c>error:</c> line and the rest are still
/// predicted; the exit code is then 1.
/// </summary>
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
        var json = new Option<bool>("--json")
        {
            Description = "One JSON object per line ({\"path\", \"predictions\": [{\"label\", \"probability\"}]} or {\"path\", \"error\"}) instead of tab-separated text.",
        };
        var maxPixels = MaxPixelsOption.Create();
        var paths = new Argument<string[]>("paths") { Description = "Image files or folders (searched recursively, hidden files and folders skipped).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Predict the class of image files with a model.zip; prints path, label and probability " +
            "(top-k with -k), tab-separated with \\t, \\n, \\r and \\\\ escaped in names, or JSON lines with --json.");
        foreach (Option option in new Option[] { model, top, json, maxPixels })
            command.Options.Add(option);
        command.Arguments.Add(paths);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, writer =>
        {
            int k = parseResult.GetValue(top);
            OptionChecks.AtLeast("--top", k, 1);
            long pixelLimit = MaxPixelsOption.Get(parseResult, maxPixels);
            string modelPath = Path.GetFullPath(parseResult.GetValue(model)!);
            if (!File.Exists(modelPath)) throw new FileNotFoundException($"--model {modelPath} does not exist.", modelPath);
            var files = ExpandImages(parseResult.GetValue(paths)!);
            bool asJson = parseResult.GetValue(json);
            TextWriter error = parseResult.InvocationConfiguration.Error;

            var ml = ScratchFolder.NewContext(0);
            var transformer = ModelZip.Load(ml, modelPath, out _);
            using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(transformer);
            string[] classes = ImagePrediction.GetClassNames(engine.OutputSchema);
            k = Math.Min(k, classes.Length);
            int failed = 0;
            foreach (string file in files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                IReadOnlyList<ImagePrediction.ClassProbability> best;
                try
                {
                    ImageFilePolicy.Check(file, pixelLimit);
                    best = engine.Predict(new ImageInput { ImagePath = file }).TopK(k, classes);
                }
                catch (InvalidDataException e)
                {
                    failed++;
                    error.WriteLine(CommandRunner.ErrorLine(e.Message));
                    if (asJson) writer.WriteLine(JsonSerializer.Serialize(new { path = file, error = e.Message }));
                    continue;
                }
                writer.WriteLine(asJson
                    ? JsonSerializer.Serialize(new { path = file, predictions = best.Select(c => new { label = c.Label, probability = c.Probability }) })
                    : string.Join('\t', best.SelectMany(c => new[] { Escape(c.Label), c.Probability.ToString("F4", CultureInfo.InvariantCulture) })
                        .Prepend(Escape(file))));
            }
            if (failed > 0)
                throw new InvalidDataException($"{failed} of {files.Count} images could not be read (each is named above); the others were predicted.");
        }));
        return command;
    }

    /// <summary>A name as one tab-separated field: backslash, tab, newline and carriage return written as \\, \t, \n, \r.</summary>
    internal static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny("\\\t\n\r") < 0) return text;
        var escaped = new StringBuilder(text.Length + 8);
        foreach (char c in text)
            escaped.Append(c switch { '\\' => "\\\\", '\t' => "\\t", '\n' => "\\n", '\r' => "\\r", _ => c.ToString() });
        return escaped.ToString();
    }

    private static IReadOnlyList<string> ExpandImages(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (string path in paths)
        {
            string full = Path.GetFullPath(path);
            if (File.Exists(full)) files.Add(full);
            else if (Directory.Exists(full))
                files.AddRange(Directory.EnumerateFiles(full, "*", new EnumerationOptions
                    {
                        RecurseSubdirectories = true,
                        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,   // on Unix: names starting with '.'
                    })
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal));
            else throw new FileNotFoundException($"No such image file or folder: {full}", full);
        }
        if (files.Count == 0) throw new ArgumentException("No images found in the given paths.");
        return files;
    }
}
