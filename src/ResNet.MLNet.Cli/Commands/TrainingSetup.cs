using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using ResNet.MLNet.IO;
using Microsoft.ML.Data;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// The options <c>train</c> and <c>lr-find</c> share, and the chapter's pipeline they build from them:
/// Resize(presize) → aug_transforms(min_scale, size) → Normalize(imagenet) → the ResNet trainer.
/// </summary>
internal sealed class TrainingSetup
{
    // The CLI's own defaults: the notebook's on a real dataset, smaller and faster ones on the synthetic data.
    private const float NotebookLearningRate = 7e-4f, SyntheticLearningRate = 1e-2f;
    private const int NotebookBatchSize = 128, SyntheticBatchSize = 32, SyntheticSize = 64, SyntheticPresize = 72;

    public Option<string> Data { get; } = new("--data")
    {
        Description = $"synthetic (default), {string.Join(", ", Datasets.Names.Skip(1))}, or an image-folder path (train/ and val/ subfolders).",
        DefaultValueFactory = _ => Datasets.Synthetic,
    };
    public Option<string> Arch { get; } = new("--arch")
    {
        Description = $"Architecture: {string.Join(", ", Architectures.All.Select(a => a.Name))}.",
        DefaultValueFactory = _ => Architectures.ResNet18Chapter.Name,
    };
    public Option<float?> Lr { get; } = new("--lr") { Description = string.Create(CultureInfo.InvariantCulture,
        $"Maximum learning rate of the one-cycle schedule (default {NotebookLearningRate:0e0}, the notebook's; {SyntheticLearningRate:0e0} on synthetic data).") };
    public Option<int?> BatchSize { get; } = new("--bs") { Description = $"Batch size (default {NotebookBatchSize}; {SyntheticBatchSize} on synthetic data)." };
    public Option<int?> Presize { get; } = new("--presize") { Description = $"Item resize (fastai Resize) before augmentation; default 1.25 × size ({SyntheticPresize} on synthetic data)." };
    public Option<int?> Size { get; } = new("--size") { Description = $"Training image size; default the architecture's (128, 224 for ResNet50Chapter), {SyntheticSize} on synthetic data." };
    public Option<float> MinScale { get; } = new("--min-scale") { Description = "aug_transforms min_scale (random-resized-crop area).", DefaultValueFactory = _ => ImagePreprocessingOptions.Defaults.MinScale };
    public Option<string> Device { get; } = new("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => ResNetTrainer.Defaults.Device };
    public Option<bool> MixedPrecision { get; } = new("--fp16") { Description = "Mixed precision (fastai to_fp16): fp16 on CUDA; on a CPU with native bf16 (AVX512-BF16/AMX) bf16 when a timed trial finds it faster, else fp32 (the log says which)." };
    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
    public Option<string?> Cache { get; } = new("--cache") { Description = "Dataset cache folder." };
    public Option<string?> Pretrained { get; } = new("--pretrained")
    {
        Description = $"Weights to start from: '{ImageNetWeights.Keyword}' for --arch {Architectures.ImageNetResNet18.Name} (the ImageNet ResNet-18 of the NuGet package " +
            $"{ImageNetWeights.PackageId}, which this tool ships), or a PyTorch .pt/.pth state dict or .safetensors (for torchvision-resnet*, torchvision's weights; its fc is left out).",
    };
    public Option<long> MaxPixels { get; } = MaxPixelsOption.Create();
    public Option<string> ImageCache { get; } = ImageCacheOption.Create();

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Data, Arch, Lr, BatchSize, Presize, Size, MinScale, Device, MixedPrecision, Seed, Cache, Pretrained, MaxPixels, ImageCache })
            command.Options.Add(option);
    }

    /// <summary>What the options resolve to: the data, the preprocessing pipeline and the trainer options.</summary>
    /// <param name="Preprocessing">The chapter's pipeline up to the trainer (<c>ImageClassificationPreprocessing</c>).</param>
    public sealed record Resolved(MLContext ML, ImageFolder Data, EstimatorChain<ITransformer> Preprocessing,
        ResNetTrainer.Options Trainer, int Presize, int Size);


    /// <summary>The options checked and resolved to values, before anything is downloaded or loaded.</summary>
    public sealed record Settings(string Selection, Architecture Architecture, bool Synthetic, int Size, int Presize, float MaxLearningRate,
        int BatchSize, float MinScale, string Device, bool MixedPrecision, int Seed, string? Cache, StartingWeights? Pretrained, long MaxPixels,
        string ImageCache);

    /// <summary>Checks every option (in the CLI's own terms: the flags) without touching data.</summary>
    /// <exception cref="ArgumentException">An option is out of range or unknown.</exception>
    public Settings Check(ParseResult parseResult)
    {
        string selection = parseResult.GetValue(Data)!;
        Datasets.Check(selection);
        var architecture = Architectures.Get(parseResult.GetValue(Arch)!);
        bool synthetic = selection.Equals(Datasets.Synthetic, StringComparison.OrdinalIgnoreCase);
        int size = parseResult.GetValue(Size) ?? (synthetic ? SyntheticSize : architecture.DefaultImageSize);
        int presize = parseResult.GetValue(Presize) ?? (synthetic ? Math.Max(size, SyntheticPresize) : size * 5 / 4);
        OptionChecks.ImageSize("--size", size, minimum: 32);
        OptionChecks.ImageSize("--presize", presize, minimum: 32);
        if (presize < size) throw new ArgumentException($"--presize ({presize}) must be at least --size ({size}).");
        float lr = parseResult.GetValue(Lr) ?? (synthetic ? SyntheticLearningRate : NotebookLearningRate);
        if (!(lr > 0) || float.IsInfinity(lr)) throw new ArgumentException($"--lr must be a positive finite number, got {lr}.");
        int batchSize = parseResult.GetValue(BatchSize) ?? (synthetic ? SyntheticBatchSize : NotebookBatchSize);
        OptionChecks.AtLeast("--bs", batchSize, 1);
        if (batchSize == 1)
            throw new ArgumentException("--bs 1: every architecture here normalises with BatchNorm, which in training takes its statistics " +
                "from the batch itself; one image per batch leaves nothing to normalise across and training falls apart. Use --bs 2 or more.");
        float minScale = parseResult.GetValue(MinScale);
        if (!(minScale > 0 && minScale <= 1)) throw new ArgumentException($"--min-scale must lie in (0, 1], got {minScale}.");
        string device = parseResult.GetValue(Device)!;
        OptionChecks.Device(device);
        var pretrained = parseResult.GetValue(Pretrained) is string weights ? PretrainedWeights(weights, architecture) : null;
        return new Settings(selection, architecture, synthetic, size, presize, lr, batchSize, minScale, device,
            parseResult.GetValue(MixedPrecision), parseResult.GetValue(Seed), parseResult.GetValue(Cache), pretrained, MaxPixelsOption.Get(parseResult, MaxPixels),
            parseResult.GetValue(ImageCache)!);
    }

    /// <summary>The <c>--pretrained</c> weights, checked against the architecture: the ImageNet keyword (its file found) or a file that exists.</summary>
    private static StartingWeights PretrainedWeights(string weights, Architecture architecture)
    {
        bool imageNet = weights.Equals(ImageNetWeights.Keyword, StringComparison.OrdinalIgnoreCase);
        bool imageNetArchitecture = architecture == Architectures.ImageNetResNet18;
        if (imageNet && !imageNetArchitecture)
            throw new ArgumentException($"--pretrained {ImageNetWeights.Keyword} is for --arch {Architectures.ImageNetResNet18.Name}; " +
                $"--arch {architecture.Name} takes a PyTorch .pt/.pth or .safetensors file.");
        if (imageNetArchitecture && !imageNet && !weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--arch {Architectures.ImageNetResNet18.Name} takes --pretrained {ImageNetWeights.Keyword} (or the path of its ResNet18.onnx), not {weights}.");
        if (imageNet) return StartingWeights.ImageNet();
        string path = Path.GetFullPath(weights);
        if (!File.Exists(path)) throw new FileNotFoundException($"--pretrained {path} does not exist.", path);
        return imageNetArchitecture ? StartingWeights.ImageNet(path) : StartingWeights.PyTorch(path);
    }

    /// <summary>Downloads (if needed) and loads the data and builds the pipeline and trainer options from checked settings.</summary>
    public async Task<Resolved> ResolveAsync(Settings settings, TextWriter output, CancellationToken cancellationToken)
    {
        string root = await Datasets.ResolveAsync(settings.Selection, settings.Cache, cancellationToken: cancellationToken).ConfigureAwait(false);
        var ml = ScratchFolder.NewContext(settings.Seed);
        var data = ImageFolderCheck.Load(ml, root);
        if (data.Classes.Count < 2)
            throw new ArgumentException($"--data {root} holds a single class ({string.Join("", data.Classes)}); a classifier needs at least two class folders under train/.");
        if (data.TrainCount < settings.BatchSize)
            throw new ArgumentException($"--bs {settings.BatchSize} is more than the {data.TrainCount} training images of --data {root}; " +
                "the last incomplete batch is dropped (as fastai does), so lower --bs.");
        output.WriteLine($"data: {root} ({data.Classes.Count} classes)");

        var preprocessing = ml.Transforms.ImageClassificationPreprocessing(new ImagePreprocessingOptions
        {
            Presize = settings.Presize,
            Size = settings.Size,
            MinScale = settings.MinScale,
            MaxPixels = settings.MaxPixels,
            Cache = ImageCacheOption.Resolve(settings.ImageCache, root, data.TrainCount + data.ValidCount, settings.Presize, settings.Cache,
                output, cancellationToken),
        });

        var trainer = new ResNetTrainer.Options
        {
            Architecture = settings.Architecture,
            MaxLearningRate = settings.MaxLearningRate,
            BatchSize = settings.BatchSize,
            MixedPrecision = settings.MixedPrecision,
            Device = settings.Device,
            Seed = settings.Seed,
            InitialWeights = settings.Pretrained,
            Log = output,
            CancellationToken = cancellationToken,
        };
        return new Resolved(ml, data, preprocessing, trainer, settings.Presize, settings.Size);
    }
}
