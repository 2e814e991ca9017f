using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Cli.Commands;

/// <summary><c>resnet-mlnet datasets</c>: lists known datasets and the cache; <c>download</c> and <c>synthetic</c> fill it.</summary>
public static class DatasetsCommand
{
    /// <summary>Builds the <c>datasets</c> command with its <c>download</c> and <c>synthetic</c> subcommands.</summary>
    public static Command Create()
    {
        var cache = CacheOption();
        var command = new Command("datasets", "List the known datasets and what is in the dataset cache.");
        command.Options.Add(cache);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, output => List(output, parseResult.GetValue(cache))));
        command.Subcommands.Add(CreateDownload());
        command.Subcommands.Add(CreateSynthetic());
        return command;
    }

    private static Option<string?> CacheOption() => new("--cache")
    {
        Description = $"Dataset cache folder (default: ${DatasetCache.EnvironmentVariable}, else {DatasetCache.DefaultDirectory}).",
    };

    private static Command CreateDownload()
    {
        var name = new Argument<string>("name") { Description = "A dataset name from `resnet-mlnet datasets`, or the URL of a .tgz/.tar.gz/.zip archive." };
        var cache = CacheOption();
        var force = new Option<bool>("--force") { Description = "Download and extract again even if the dataset is cached." };
        var keep = new Option<bool>("--keep-archive") { Description = "Keep the verified archive in <cache>/archives." };
        var command = new Command("download", "Download a dataset into the cache (a second run is a cache hit) and print its folder.");
        command.Arguments.Add(name);
        command.Options.Add(cache);
        command.Options.Add(force);
        command.Options.Add(keep);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, output =>
            DownloadAsync(output, parseResult.GetValue(name)!, parseResult.GetValue(cache), parseResult.GetValue(force), parseResult.GetValue(keep), cancellationToken)));
        return command;
    }

    private static Command CreateSynthetic()
    {
        var defaults = new SyntheticImagesOptions();
        var cache = CacheOption();
        var output = new Option<string?>("--out", "-o") { Description = "The new folder to write the dataset to, instead of the cache." };
        var classes = new Option<int>("--classes") { Description = $"Number of classes (1-{SyntheticImages.ClassNames.Count}).", DefaultValueFactory = _ => defaults.ClassCount };
        var train = new Option<int>("--train-per-class") { Description = "Training images per class.", DefaultValueFactory = _ => defaults.TrainImagesPerClass };
        var valid = new Option<int>("--valid-per-class") { Description = "Validation images per class.", DefaultValueFactory = _ => defaults.ValidImagesPerClass };
        var minSize = new Option<int>("--min-size") { Description = "Smallest image side in pixels.", DefaultValueFactory = _ => defaults.MinSize };
        var maxSize = new Option<int>("--max-size") { Description = "Largest image side in pixels.", DefaultValueFactory = _ => defaults.MaxSize };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same images).", DefaultValueFactory = _ => defaults.Seed };
        var png = new Option<bool>("--png") { Description = "Write PNG instead of JPEG files." };
        var command = new Command("synthetic", "Generate the built-in synthetic shapes dataset (train/val image folders) and print its folder.");
        foreach (Option option in new Option[] { cache, output, classes, train, valid, minSize, maxSize, seed, png })
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, writer =>
        {
            var options = new SyntheticImagesOptions
            {
                ClassCount = parseResult.GetValue(classes),
                TrainImagesPerClass = parseResult.GetValue(train),
                ValidImagesPerClass = parseResult.GetValue(valid),
                MinSize = parseResult.GetValue(minSize),
                MaxSize = parseResult.GetValue(maxSize),
                Seed = parseResult.GetValue(seed),
                Format = parseResult.GetValue(png) ? SyntheticImageFormat.Png : SyntheticImageFormat.Jpeg,
            };
            CheckInFlagTerms(options);
            var clock = Stopwatch.StartNew();
            string? folder = parseResult.GetValue(output);
            string root = folder is null ? SyntheticImages.GetOrCreate(options, parseResult.GetValue(cache)) : SyntheticImages.Create(folder, options);
            ImageFolder data = ImageFolder.Load(root, options.ValidImagesPerClass > 0 ? options.ValidName : null, options.TrainName);
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{data.Classes.Count} classes, {data.TrainCount} training and {data.ValidCount} validation images ({clock.Elapsed.TotalSeconds:0.0} s)"));
            writer.WriteLine(root);
        }));
        return command;
    }

    /// <summary>Validates the options, naming the flag rather than the option property in the error.</summary>
    private static void CheckInFlagTerms(SyntheticImagesOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            foreach (var (property, flag) in new[]
            {
                (nameof(SyntheticImagesOptions.ClassCount), "--classes"), (nameof(SyntheticImagesOptions.TrainImagesPerClass), "--train-per-class"),
                (nameof(SyntheticImagesOptions.ValidImagesPerClass), "--valid-per-class"), (nameof(SyntheticImagesOptions.MinSize), "--min-size"),
                (nameof(SyntheticImagesOptions.MaxSize), "--max-size"),
            })
                message = message.Replace(property, flag, StringComparison.Ordinal);
            throw new ArgumentException(message);
        }
    }

    private static void List(TextWriter output, string? cacheDirectory)
    {
        string cache = DatasetCache.Resolve(cacheDirectory);
        output.WriteLine($"Dataset cache: {cache}");
        output.WriteLine();
        output.WriteLine($"{"NAME",-18} {"STATUS",-12} {"SIZE",9}  DESCRIPTION");
        foreach (KnownDataset dataset in Datasets.All)
        {
            string status = Directory.Exists(Path.Combine(cache, dataset.Name)) ? "cached"
                : dataset.Name == FashionMnist.DatasetName && File.Exists(Path.Combine(FashionMnist.DebianDirectory, FashionMnist.FileNames[0])) ? "local files"
                : "-";
            string size = dataset.Checksum?.Size is long bytes ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0} MB") : "";
            output.WriteLine($"{dataset.Name,-18} {status,-12} {size,9}  {dataset.Description}");
        }
        string[] synthetic = Directory.Exists(cache)
            ? Directory.GetDirectories(cache, "synthetic-*").Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToArray()
            : [];
        output.WriteLine($"{"synthetic",-18} {(synthetic.Length > 0 ? "cached" : "-"),-12} {"",9}  Built-in shapes dataset (`resnet-mlnet datasets synthetic`){(synthetic.Length > 0 ? ": " + string.Join(", ", synthetic) : "")}");
        output.WriteLine();
        output.WriteLine("Download one with `resnet-mlnet datasets download <name>`.");
    }

    private static async Task DownloadAsync(TextWriter output, string name, string? cache, bool force, bool keep, CancellationToken cancellationToken)
    {
        string root;
        if (string.Equals(name, FashionMnist.DatasetName, StringComparison.OrdinalIgnoreCase))
        {
            if (force && Datasets.IsCached(FashionMnist.DatasetName, cache))
                Directory.Delete(Path.Combine(DatasetCache.Resolve(cache), FashionMnist.DatasetName), recursive: true);
            root = await FashionMnist.GetOrCreateAsync(new FashionMnistOptions { CacheDirectory = cache }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            string url = Datasets.Find(name)?.Url
                ?? (Uri.TryCreate(name, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https" or "file"
                    ? name
                    : throw new ArgumentException($"Unknown dataset '{name}'. Known: {string.Join(", ", Datasets.All.Select(d => d.Name))}; or pass an archive URL."));
            var options = new UntarDataOptions { CacheDirectory = cache, ForceDownload = force, KeepArchive = keep };
            root = await Datasets.UntarDataAsync(url, options, cancellationToken).ConfigureAwait(false);
        }
        output.WriteLine(root);
    }
}
