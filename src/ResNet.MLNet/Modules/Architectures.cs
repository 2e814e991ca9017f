namespace ResNet.MLNet.Modules;

/// <summary>The chapter's models, ready for <c>ResNetTrainer.Options.Architecture</c>.</summary>
public static class Architectures
{
    /// <summary>(A) The plain stride-2 CNN.</summary>
    public static Architecture SimpleCnn { get; } = new(nameof(SimpleCnn), Models.SimpleCnn);

    /// <summary>(B) The plain CNN built from stride-2 ResBlocks.</summary>
    public static Architecture ResBlockCnn { get; } = new(nameof(ResBlockCnn), Models.ResBlockCnn);

    /// <summary>(C) Two ResBlocks per stage.</summary>
    public static Architecture DeepResBlockCnn { get; } = new(nameof(DeepResBlockCnn), Models.DeepResBlockCnn);

    /// <summary>(D) ResNet-18 style: stem + [2, 2, 2, 2] ResBlocks.</summary>
    public static Architecture ResNet18Chapter { get; } = new(nameof(ResNet18Chapter), c => Models.ResNet(c, new[] { 2, 2, 2, 2 }));

    /// <summary>ResNet-34 style: stem + [3, 4, 6, 3] ResBlocks.</summary>
    public static Architecture ResNet34Chapter { get; } = new(nameof(ResNet34Chapter), c => Models.ResNet(c, new[] { 3, 4, 6, 3 }));

    /// <summary>(E) ResNet-50 style: stem + [3, 4, 6, 3] bottleneck blocks with expansion 4, trained at 224 px.</summary>
    public static Architecture ResNet50Chapter { get; } = new(nameof(ResNet50Chapter), c => Models.ResNet(c, new[] { 3, 4, 6, 3 }, expansion: 4), defaultImageSize: 224);

    /// <summary>torchvision's ResNet-18 body (torchvision's parameter names; loads its weights) with fastai's head, for fine-tuning.</summary>
    public static Architecture TorchVisionResNet18 { get; } = new("torchvision-resnet18", c => new TorchVisionResNet(18, c, fastaiHead: true), defaultImageSize: 224);

    /// <summary>torchvision's ResNet-34 body with fastai's head (fastbook's <c>vision_learner(dls, resnet34)</c>).</summary>
    public static Architecture TorchVisionResNet34 { get; } = new("torchvision-resnet34", c => new TorchVisionResNet(34, c, fastaiHead: true), defaultImageSize: 224);

    /// <summary>torchvision's ResNet-50 body with fastai's head.</summary>
    public static Architecture TorchVisionResNet50 { get; } = new("torchvision-resnet50", c => new TorchVisionResNet(50, c, fastaiHead: true), defaultImageSize: 224);

    /// <summary>
    /// The ImageNet-trained ResNet-18 of ML.NET's image featurizer package with fastai's head, for fine-tuning: set
    /// <c>InitialWeights = StartingWeights.ImageNet()</c>.
    /// </summary>
    public static Architecture ImageNetResNet18 { get; } = new("imagenet-resnet18", c => new ImageNetResNet18(c), defaultImageSize: 224);

    /// <summary>All built-in architectures: the chapter's, in its order, then the pretrained ones.</summary>
    public static IReadOnlyList<Architecture> All { get; } = new[]
    {
        SimpleCnn, ResBlockCnn, DeepResBlockCnn, ResNet18Chapter, ResNet34Chapter, ResNet50Chapter,
        ImageNetResNet18, TorchVisionResNet18, TorchVisionResNet34, TorchVisionResNet50,
    };

    /// <summary>Finds a built-in architecture by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No architecture has that name; the message lists the valid ones.</exception>
    public static Architecture Get(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(
            $"Unknown architecture '{name}'. Choose one of: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));
}
