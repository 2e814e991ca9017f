using System.CommandLine;
using Microsoft.ML;
using ResNet.MLNet.IO;
using ResNet.MLNet.Data;
using ResNet.MLNet.Transforms;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet show-batch</c>: fastai's <c>show_batch</c> from the command line. Loads an image folder (or the
/// built-in synthetic dataset), runs the chapter's item and batch transforms on a training pass and writes a PNG grid
/// of the augmented images titled with their labels.
/// </summary>
public static class ShowBatchCommand
{
    /// <summary>Builds the <c>show-batch</c> command.</summary>
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "Data selection as for train: synthetic (the default), a dataset name, or a folder with train/<class>/* (and val/<class>/*) files.",
            DefaultValueFactory = _ => Datasets.Synthetic,
        };
        var output = new Option<string>("--out", "-o") { Description = "The grid's PNG file.", DefaultValueFactory = _ => "show_batch.png" };
        var maxN = new Option<int>("--max-n") { Description = "Number of images.", DefaultValueFactory = _ => 9 };
        var presize = new Option<int>("--presize") { Description = "Item transform: Resize(presize) with a crop.", DefaultValueFactory = _ => ImagePreprocessingOptions.Defaults.Presize };
        var size = new Option<int>("--size") { Description = "Batch transform output size (aug_transforms size).", DefaultValueFactory = _ => ImagePreprocessingOptions.Defaults.Size };
        var minScale = new Option<float>("--min-scale") { Description = "Random-resized-crop min_scale.", DefaultValueFactory = _ => ImagePreprocessingOptions.Defaults.MinScale };
        var seed = new Option<int>("--seed") { Description = "Seed of the training pass (shuffle and augmentation).", DefaultValueFactory = _ => 0 };
        var validName = new Option<string>("--valid-name") { Description = "Validation folder name under root.", DefaultValueFactory = _ => ImageFolder.Defaults.ValidName };
        var noAugment = new Option<bool>("--no-augment") { Description = "Show the validation transform instead of random augmentation." };
        var imageCache = ImageCacheOption.Create();
        var cache = new Option<string?>("--cache") { Description = "Dataset cache folder (where --image-cache auto keeps a store on disk)." };

        var command = new Command("show-batch", "Write a PNG grid of augmented training images with their labels (fastai's show_batch).");
        foreach (Option option in new Option[] { data, output, maxN, presize, size, minScale, seed, validName, noAugment, imageCache, cache })
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            string path = OptionChecks.OutputFile("show-batch", parseResult.GetValue(output)!, "show_batch.png", ".png");
            OptionChecks.AtLeast("--max-n", parseResult.GetValue(maxN), 1);
            OptionChecks.ImageSize("--size", parseResult.GetValue(size), minimum: 8);
            OptionChecks.ImageSize("--presize", parseResult.GetValue(presize), minimum: 8);
            float scale = parseResult.GetValue(minScale);
            if (!(scale > 0 && scale <= 1)) throw new ArgumentException($"--min-scale must lie in (0, 1], got {scale}.");
            string folder = await Datasets.ResolveAsync(parseResult.GetValue(data)!, parseResult.GetValue(cache), cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            var ml = ScratchFolder.NewContext(parseResult.GetValue(seed));
            string? valid = Directory.Exists(Path.Combine(folder, parseResult.GetValue(validName)!)) ? parseResult.GetValue(validName) : null;
            ImageFolder images = ml.Data.LoadImageFolder(folder, valid);
            var options = new ImagePreprocessingOptions
            {
                Presize = parseResult.GetValue(presize),
                Size = parseResult.GetValue(size),
                MinScale = scale,
                Cache = ImageCacheOption.Resolve(parseResult.GetValue(imageCache)!, folder, images.TrainCount, parseResult.GetValue(presize),
                    parseResult.GetValue(cache), log: null, cancellationToken),
            };
            // One batch's worth of training rows: only the images shown are decoded (and stored, with a store on disk).
            var sample = ml.Data.TakeRows(ml.Data.ShuffleRows(images.Train, parseResult.GetValue(seed)), parseResult.GetValue(maxN));
            var train = ml.Transforms.ImageClassificationPreprocessing(options).Fit(sample).Transform(sample);
            string written = ml.Data.ShowBatch(train, parseResult.GetValue(maxN), path, new ShowBatchOptions
            {
                Seed = parseResult.GetValue(noAugment) ? null : parseResult.GetValue(seed),
                NormalizedWith = options.Normalization,
            });
            writer.WriteLine(written);
        }));
        return command;
    }
}
