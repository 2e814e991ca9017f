using ResNet.MLNet.Modules;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Scoring;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// The weights a run starts from instead of random ones (<c>ResNetTrainer.Options.InitialWeights</c>). Pretrained weights
/// (<see cref="ImageNet"/>, <see cref="PyTorch"/>) fill the body and leave the head fresh, as fastai's transfer learning
/// does; a trained network (<see cref="Trained(ResNetTransformer)"/> and its overloads) is continued whole, for
/// progressive resizing or more epochs on new data. Each factory checks its source when called.
/// </summary>
public abstract class StartingWeights
{
    private protected StartingWeights() { }

    /// <summary>
    /// The ImageNet ResNet-18 body for <see cref="Architectures.ImageNetResNet18"/>: the <c>ResNet18.onnx</c> that the NuGet
    /// package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> ships (found beside the application or in the NuGet packages
    /// folder, its SHA-256 checked), or the one at <paramref name="onnxPath"/>. Every layer is checked as it loads.
    /// </summary>
    /// <exception cref="FileNotFoundException">The packaged file or <paramref name="onnxPath"/> is not there; the message says how to fetch the package.</exception>
    public static StartingWeights ImageNet(string? onnxPath = null) =>
        new ImageNetBody(onnxPath is null ? ImageNetWeights.Locate() : ExistingFile(onnxPath, nameof(ImageNet)));

    /// <summary>
    /// A PyTorch <c>.pt</c>/<c>.pth</c> state dict or a <c>.safetensors</c> file of the same network (for the torchvision
    /// architectures, torchvision's weights: everything but its <c>fc</c> classifier loads). Every weight is checked; a
    /// missing, unexpected or mis-shaped one is an error naming it.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static StartingWeights PyTorch(string path) => new PyTorchBody(ExistingFile(path, nameof(PyTorch)));

    /// <summary>A fitted model's weights: same architecture and classes; the image size may differ.</summary>
    public static StartingWeights Trained(ResNetTransformer model) => new TrainedNetwork(NetworkWeights.Of(model));

    /// <summary>Weights already read (the CLI's <c>--init</c>, which checks them first): same architecture and classes.</summary>
    internal static StartingWeights Trained(NetworkWeights weights) => new TrainedNetwork(weights);

    /// <summary>
    /// The weights at <paramref name="path"/>: a model.zip written by the CLI, a checkpoint, or a run folder (its
    /// model.zip or checkpoint); same architecture and classes.
    /// </summary>
    public static StartingWeights Trained(string path) => new TrainedNetwork(NetworkWeights.Load(path));

    /// <summary>Loads pretrained weights into a newly built network, before the step trial (the LR finder starts from them too).</summary>
    internal virtual void LoadInto(nn.Module model, Architecture architecture, TextWriter log) { }

    /// <summary>Continues from a trained network once the learner exists (a resumed run starts from its checkpoint instead).</summary>
    internal virtual void ContinueInto(Learner learner, Architecture architecture, IReadOnlyList<string> classNames, TextWriter log) { }

    private static string ExistingFile(string path, string factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return File.Exists(path) ? path : throw new FileNotFoundException($"StartingWeights.{factory}: no weights file at '{path}'.", path);
    }

    private sealed class ImageNetBody(string path) : StartingWeights
    {
        internal override void LoadInto(nn.Module model, Architecture architecture, TextWriter log)
        {
            if (model is not ImageNetResNet18 imageNet)
                throw new ArgumentException($"StartingWeights.ImageNet loads the ImageNet ResNet-18 into Architectures.ImageNetResNet18 " +
                    $"({Architectures.ImageNetResNet18.Name}); {architecture.Name} takes StartingWeights.PyTorch (a .pt/.pth/.safetensors state dict).");
            ImageNetWeights.Load(imageNet, path);
            log.WriteLine($"pretrained: loaded the ImageNet ResNet-18 body from {path}; the head starts fresh.");
        }
    }

    private sealed class PyTorchBody(string path) : StartingWeights
    {
        internal override void LoadInto(nn.Module model, Architecture architecture, TextWriter log)
        {
            // A torchvision state dict's classifier (fc) does not fit a new head.
            string[] classifier = model is TorchVisionResNet { HasFastaiHead: true } ? ["fc.", "head."] : [];
            PyTorchWeights.Load(model, path, classifier);
            log.WriteLine($"pretrained: loaded {path}{(classifier.Length > 0 ? " (all but its classifier; the head starts fresh)" : "")}.");
        }
    }

    private sealed class TrainedNetwork(NetworkWeights weights) : StartingWeights
    {
        internal override void ContinueInto(Learner learner, Architecture architecture, IReadOnlyList<string> classNames, TextWriter log)
        {
            const string source = "Options.InitialWeights";
            weights.ContinueInto(learner, architecture.Name, classNames, source);
            log.WriteLine($"note: training continues from the weights of {source} ({weights.Architecture}, {weights.ClassCount} classes).");
        }
    }
}
