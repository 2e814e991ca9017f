using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// A named network factory the trainer can build for any number of classes. Use the chapter's models from
/// <see cref="Architectures"/> or wrap your own: <c>new Architecture("MyNet", c =&gt; MyNet(c))</c>. Build your own from
/// this library's modules and TorchSharp's common layers: the trainer checks before the first epoch that the network
/// can be written to ONNX, the form model.zip keeps it in.
/// </summary>
public sealed class Architecture
{
    private readonly Func<int, nn.Module<Tensor, Tensor>> _factory;

    /// <summary>Creates an architecture from a factory taking the number of classes.</summary>
    /// <param name="name">A short name (used in logs, file names and the CLI).</param>
    /// <param name="factory">Builds a fresh, randomly initialised module mapping [N,3,H,W] to [N,classes] logits.</param>
    /// <param name="defaultImageSize">The training image size the chapter uses for it.</param>
    public Architecture(string name, Func<int, nn.Module<Tensor, Tensor>> factory, int defaultImageSize = 128)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultImageSize, 32);
        Name = name;
        _factory = factory;
        DefaultImageSize = defaultImageSize;
    }

    /// <summary>The architecture's name.</summary>
    public string Name { get; }

    /// <summary>The image size the chapter trains this architecture at (128, or 224 for the ResNet-50 style).</summary>
    public int DefaultImageSize { get; }

    /// <summary>Builds a new module with <paramref name="numClasses"/> outputs.</summary>
    public nn.Module<Tensor, Tensor> Create(int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        return _factory(numClasses);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
