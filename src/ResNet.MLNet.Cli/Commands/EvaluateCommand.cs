using System.CommandLine;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.IO;
using ResNet.MLNet.Interpretation;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet evaluate</c>: scores an image folder with a saved model.zip and reports accuracy, log-loss, a
/// per-class table, the confusion matrix (PNG) and the most confused pairs, like fastai's interpretation. Writes
/// <c>evaluate-metrics.json</c> and <c>evaluate-confusion.png</c>, so a training run's own outputs are never replaced.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>The file names evaluate writes (beside the model, or into <c>--out</c>).</summary>
    public const string MetricsFileName = "evaluate-metrics.json", ConfusionFileName = "evaluate-confusion.png";

    /// <summary>The PNG <c>--top-losses</c> writes.</summary>
    public const string TopLossesFileName = "top_losses.png";

    /// <summary>Builds the <c>evaluate</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model.zip to evaluate.", Required = true };
        var data = new Option<string>("--data") { Description = "Data selection as for train (synthetic, a dataset name or a folder).", DefaultValueFactory = _ => Datasets.Synthetic };
        var split = new Option<string>("--split") { Description = "valid (default: the val/ folder), train or all.", DefaultValueFactory = _ => "valid" };
        split.AcceptOnlyFromAmong("valid", "train", "all");
        var output = new Option<string?>("--out", "-o") { Description = $"Folder for {MetricsFileName} and {ConfusionFileName} (default: beside the model)." };
        var cache = new Option<string?>("--cache") { Description = "Dataset cache folder." };
        var imageCache = ImageCacheOption.Create();
        var allowUnknown = new Option<bool>("--allow-unknown-labels")
        {
            Description = "When some images have labels the model was not trained on, score only the others (they are counted and " +
                "reported); without it that is an error.",
        };
        var topLosses = new Option<int>("--top-losses") { Description = $"Also write {TopLossesFileName}: the N images with the highest loss (fastai's plot_top_losses)." };
        var tta = new Option<bool>("--tta") { Description = "Also score with test-time augmentation (fastai's learn.tta: n augmented passes blended with the plain one, beta 0.25)." };
        var ttaPasses = new Option<int>("--tta-n") { Description = "Augmented passes for --tta.", DefaultValueFactory = _ => TestTimeAugmentation.DefaultPasses };
        var minScale = new Option<float>("--min-scale") { Description = "aug_transforms min_scale the model was trained with (for --tta).", DefaultValueFactory = _ => ImagePreprocessingOptions.Defaults.MinScale };
        var maxPixels = MaxPixelsOption.Create();
        var command = new Command("evaluate", "Evaluate a model.zip on an image folder: accuracy, log-loss, per-class table, confusion matrix, most confused.");
        foreach (Option option in new Option[] { model, data, split, output, cache, allowUnknown, maxPixels, topLosses, tta, ttaPasses, minScale, imageCache })
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            long pixelLimit = MaxPixelsOption.Get(parseResult, maxPixels);
            string modelPath = Path.GetFullPath(parseResult.GetValue(model)!);
            int topLossCount = parseResult.GetValue(topLosses);
            if (topLossCount < 0) throw new ArgumentException($"--top-losses must be at least 1, got {topLossCount}.");
            if (!File.Exists(modelPath)) throw new FileNotFoundException($"--model {modelPath} does not exist.", modelPath);
            string selection = parseResult.GetValue(data)!;
            Datasets.Check(selection);
            string splitName = parseResult.GetValue(split)!;
            using var outputFolder = OutputFolder.Prepare(parseResult.GetValue(output) ?? Path.GetDirectoryName(modelPath)!, "--out");

            string root = await Datasets.ResolveAsync(selection, parseResult.GetValue(cache), cancellationToken: cancellationToken).ConfigureAwait(false);
            var ml = ScratchFolder.NewContext(0);
            var transformer = ModelZip.Load(ml, modelPath, out var inputSchema);
            var items = LoadSplit(root, splitName);
            string[] modelClasses = ImagePrediction.GetClassNames(transformer.GetOutputSchema(ml.Data.LoadFromEnumerable(items).Schema));
            var known = modelClasses.ToHashSet(StringComparer.Ordinal);
            var unknown = items.Where(i => !known.Contains(i.Label)).GroupBy(i => i.Label, StringComparer.Ordinal)
                .Select(g => (Label: g.Key, Count: g.Count())).OrderBy(g => g.Label, StringComparer.Ordinal).ToArray();
            int unknownCount = unknown.Sum(u => u.Count);
            string unknownList = string.Join(", ", unknown.Select(u => $"{u.Label}: {u.Count}"));
            string splitDescription = $"the {splitName} split of --data {root}";
            if (unknownCount == items.Count)
                throw new InvalidDataException($"none of the {items.Count} images in {splitDescription} has a label the model was trained on " +
                    $"(data: {unknownList}; model: {string.Join(", ", modelClasses)}).");
            if (unknownCount > 0 && !parseResult.GetValue(allowUnknown))
                throw new InvalidDataException($"{unknownCount} of the {items.Count} images in {splitDescription} have labels the model was " +
                    $"not trained on ({unknownList}); pass --allow-unknown-labels to score only the other {items.Count - unknownCount}.");

            var scoredItems = items.Where(i => known.Contains(i.Label)).ToArray();
            var rows = ml.Data.LoadFromEnumerable(scoredItems);
            var scoring = ImageCacheModel.TryCreate(ml, transformer, rows, nameof(ImageFolderItem.ImagePath), presize =>
                ImageCacheOption.Resolve(parseResult.GetValue(imageCache)!, root, scoredItems.Length, presize, parseResult.GetValue(cache),
                    writer, cancellationToken), pixelLimit, out string? uncached);
            if (scoring is null)
            {
                writer.WriteLine($"note: images are decoded without an image cache: {uncached}");
                foreach (var item in scoredItems)
                {
                    // The checks the image cache applies when it decodes (ML.NET's loader in model.zip would stop on a bad
                    // file without naming it, or score a truncated one).
                    cancellationToken.ThrowIfCancellationRequested();
                    ImageFilePolicy.Check(item.ImagePath, pixelLimit);
                }
            }
            var scored = (scoring ?? transformer).Transform(rows);
            var report = new ClassificationReport(ml.MulticlassClassification.Evaluate(scored), modelClasses);
            cancellationToken.ThrowIfCancellationRequested();

            report.SaveJson(Path.Combine(outputFolder.Path, MetricsFileName));
            report.SaveConfusionMatrixPng(Path.Combine(outputFolder.Path, ConfusionFileName));
            var interpretation = topLossCount > 0 ? ClassificationInterpretation.FromScored(scored) : null;
            interpretation?.PlotTopLosses(topLossCount, Path.Combine(outputFolder.Path, TopLossesFileName));
            outputFolder.Keep();
            writer.WriteLine($"model: {modelPath}");
            writer.WriteLine($"data: {root} ({splitName} split, {items.Count - unknownCount} images scored)");
            if (unknownCount > 0)
                writer.WriteLine($"left out: {unknownCount} images whose labels the model was not trained on ({unknownList})");
            report.WriteText(writer);
            if (parseResult.GetValue(tta))
                TtaEvaluation.Run(ml, transformer, inputSchema, rows, parseResult.GetValue(ttaPasses), parseResult.GetValue(minScale), writer);
            if (interpretation is not null)
            {
                writer.WriteLine("top losses (predicted/actual loss probability):");
                foreach (var item in interpretation.TopLosses(topLossCount))
                    writer.WriteLine($"  {item.Predicted}/{item.Actual}  {item.Loss:F2}  {item.Probability:F2}  {item.ImagePath}");
            }

            writer.WriteLine($"written: {MetricsFileName}, {ConfusionFileName}{(interpretation is null ? "" : $", {TopLossesFileName}")} in {outputFolder.Path}");
        }));
        return command;
    }

    /// <summary>The images of one split: val/ (valid), train/ (train) or both (all); an empty split is an error.</summary>
    private static IReadOnlyList<ImageFolderItem> LoadSplit(string root, string split)
    {
        string train = ImageFolder.Defaults.TrainName, valid = ImageFolder.Defaults.ValidName;
        string[] folders = split switch { "train" => [train], "all" => [train, valid], _ => [valid] };
        var items = new List<ImageFolderItem>();
        foreach (string folder in folders)
        {
            if (!Directory.Exists(Path.Combine(root, folder)))
                throw new DirectoryNotFoundException($"--data {root} has no {folder}/ folder (needed by --split {split}).");
            ImageFolder loaded;
            try
            {
                loaded = ImageFolder.Load(root, validName: null, trainName: folder);
            }
            catch (InvalidDataException e) when (e.Message.StartsWith("No images", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"--data {root}: the {folder}/ folder holds no images, so there is nothing to evaluate.", e);
            }
            items.AddRange(loaded.Items.Select(i => new ImageFolderItem { ImagePath = i.ImagePath, Label = i.Label, IsValid = folder == valid }));
        }
        return items;
    }
}
