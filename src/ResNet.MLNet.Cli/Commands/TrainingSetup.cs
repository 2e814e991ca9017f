using System.CommandLine;
using Microsoft.ML;
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
    public Option<string> Data { get; } = new("--data")
    {
        Description = $"synthetic (default), {string.Join(", ", DatasetSources.Names.Skip(1))}, or an image-folder path (train/ and val/ subfolders).",
        DefaultValueFactory = _ => DatasetSources.Synthetic,
    };
    public Option<string> Arch { get; } = new("--arch")
    {
        Description = $"Architecture: {string.Join(", ", Architectures.All.Select(a => a.Name))}.",
        DefaultValueFactory = _ => Architectures.ResNet18Chapter.Name,
    };
    public Option<float?> Lr { get; } = new("--lr") { Description = "Maximum learning rate of the one-cycle schedule (default 7e-4, the notebook's; 1e-2 on synthetic data)." };
    public Option<int?> BatchSize { get; } = new("--bs") { Description = "Batch size (default 128; 32 on synthetic data)." };
    public Option<int?> Presize { get; } = new("--presize") { Description = "Item resize (fastai Resize) before augmentation; default 1.25 × size (72 on synthetic data)." };
    public Option<int?> Size { get; } = new("--size") { Description = "Training image size; default the architecture's (128, 224 for ResNet50Chapter), 64 on synthetic data." };
    public Option<float> MinScale { get; } = new("--min-scale") { Description = "aug_transforms min_scale (random-resized-crop area).", DefaultValueFactory = _ => 0.5f };
    public Option<string> Device { get; } = new("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };
    public Option<bool> MixedPrecision { get; } = new("--fp16") { Description = "Mixed precision (fastai to_fp16): fp16 on CUDA; on a CPU with native bf16 (AVX512-BF16/AMX) bf16 when a timed trial finds it faster, else fp32 (the log says which)." };
    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
    public Option<string?> Cache { get; } = new("--cache") { Description = "Dataset cache folder." };
    public Option<string?> Pretrained { get; } = new("--pretrained") { Description = "PyTorch weights to start from: a .pt/.pth state dict or .safetensors (for torchvision-resnet*, torchvision's weights; its fc is left out)." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Data, Arch, Lr, BatchSize, Presize, Size, MinScale, Device, MixedPrecision, Seed, Cache, Pretrained })
            command.Options.Add(option);
    }

    /// <summary>What the options resolve to: the data, the preprocessing pipeline and the trainer options.</summary>
    /// <param name="Preprocessing">
    /// The chapter's pipeline up to the trainer as one flat chain, so that the trainer appended to it (an
    /// <see cref="EstimatorChain{TLastTransformer}"/>'s own <c>Append</c>) reads the images from its cache checkpoint.
    /// Appended as an <c>IEstimator&lt;ITransformer&gt;</c> it would be fitted as a single step whose checkpoint never
    /// reaches the trainer, and every pass would decode every image again.
    /// </param>
    public sealed record Resolved(MLContext ML, ImageFolder Data, EstimatorChain<NormalizeImagesTransformer> Preprocessing,
        ResNetTrainer.Options Trainer, int Presize, int Size);


    public async Task<Resolved> ResolveAsync(ParseResult parseResult, TextWriter output, CancellationToken cancellationToken)
    {
        string selection = parseResult.GetValue(Data)!;
        var architecture = Architectures.Get(parseResult.GetValue(Arch)!);
        bool synthetic = selection.Equals(DatasetSources.Synthetic, StringComparison.OrdinalIgnoreCase);
        int size = parseResult.GetValue(Size) ?? (synthetic ? 64 : architecture.DefaultImageSize);
        int presize = parseResult.GetValue(Presize) ?? (synthetic ? Math.Max(size, 72) : size * 5 / 4);
        if (size < 32) throw new ArgumentException($"--size must be at least 32 pixels, got {size}.");
        if (presize < size) throw new ArgumentException($"--presize ({presize}) must be at least --size ({size}).");

        string root = await DatasetSources.ResolveAsync(selection, parseResult.GetValue(Cache), cancellationToken: cancellationToken).ConfigureAwait(false);
        int seed = parseResult.GetValue(Seed);
        var ml = new MLContext(seed);
        var data = ml.Data.LoadImageFolder(root, validName: "val");
        output.WriteLine($"data: {root} ({data.Classes.Count} classes)");

        var preprocessing = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImageFiles("Image", "ImagePath"))
            .Append(ml.Transforms.PresizeImages("Image", presize, ResizeMethod.Crop))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.Transforms.AugmentImages("Pixels", new AugmentOptions { MinScale = parseResult.GetValue(MinScale), Size = size }))
            .Append(ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet));

        var trainer = new ResNetTrainer.Options
        {
            FeatureColumnName = "Pixels",
            ValidationColumnName = "IsValid",
            Architecture = architecture,
            MaxLearningRate = parseResult.GetValue(Lr) ?? (synthetic ? 1e-2f : 7e-4f),
            BatchSize = parseResult.GetValue(BatchSize) ?? (synthetic ? 32 : 128),
            MixedPrecision = parseResult.GetValue(MixedPrecision),
            Device = parseResult.GetValue(Device)!,
            Seed = seed,
            Pretrained = parseResult.GetValue(Pretrained),
            Log = output,
            CancellationToken = cancellationToken,
        };
        return new Resolved(ml, data, preprocessing, trainer, presize, size);
    }
}
