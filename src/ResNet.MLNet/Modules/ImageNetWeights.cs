using System.Security.Cryptography;
using ResNet.MLNet.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The ImageNet weights of <see cref="ImageNetResNet18"/>: the ResNet-18 body that ML.NET's image featurizer package
/// (<c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, MIT) ships as ONNX. <see cref="Locate()"/> finds the file beside
/// the application or in the NuGet packages folder; <see cref="Load"/> reads it into the network, checking every layer.
/// </summary>
internal static class ImageNetWeights
{
    /// <summary>The value of the CLI's <c>--pretrained</c> that asks for these weights (<c>StartingWeights.ImageNet()</c> in code).</summary>
    public const string Keyword = "imagenet";

    /// <summary>The NuGet package that ships the weights.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version that goes with this library's ML.NET (later versions ship the same file).</summary>
    public const string PackageVersion = "0.23.1";

    /// <summary>The command that puts the package, and so the weights, on a machine.</summary>
    internal const string AddPackageCommand = $"dotnet add package {PackageId} --version {PackageVersion}";

    /// <summary>Where the package keeps the file, below its folder (<c>tools/</c>) and below an application's output folder.</summary>
    internal const string ModelPath = "DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    /// <summary>The SHA-256 of the packaged file, checked whenever it is found by <see cref="Locate()"/>.</summary>
    internal const string Sha256 = "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f";

    /// <summary>Files this process has hashed and found good, by path, length and modification time (hashed once, not per call).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, long Length, DateTime Modified), bool> VerifiedFiles = new();

    /// <summary>
    /// Finds <c>ResNet18.onnx</c>: in <c>DnnImageModels/</c> beside the application (where the package copies it when
    /// the application references it), then in the NuGet packages folder (<c>NUGET_PACKAGES</c>, else
    /// <c>~/.nuget/packages</c>) under any version of the package. A found file must have the packaged file's SHA-256.
    /// </summary>
    /// <exception cref="FileNotFoundException">Not found; the message names the places searched and the <c>dotnet add package</c> line that fetches it.</exception>
    /// <exception cref="InvalidDataException">A file was found but is not the packaged one (damaged or truncated).</exception>
    public static string Locate() => Locate(AppContext.BaseDirectory, PackagesFolder());

    /// <summary><see cref="Locate()"/> with the application and NuGet packages folders given.</summary>
    internal static string Locate(string applicationFolder, string packagesFolder)
    {
        foreach (string path in Candidates(applicationFolder, packagesFolder).Where(File.Exists))
        {
            var file = new FileInfo(path);
            var stamp = (path, file.Length, file.LastWriteTimeUtc);
            if (VerifiedFiles.ContainsKey(stamp)) return path;
            string hash;
            using (var stream = file.OpenRead())
                hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (hash != Sha256)
                throw new InvalidDataException($"'{path}' is not the ResNet-18 that {PackageId} ships (its SHA-256 is {hash}, not {Sha256}); " +
                    "the file is damaged: delete that package folder and restore again, or pass the path of a good ResNet18.onnx.");
            VerifiedFiles[stamp] = true;
            return path;
        }
        throw new FileNotFoundException(
            $"The ImageNet weights (ResNet18.onnx from the NuGet package {PackageId}) are not on this machine; looked in " +
            $"{Path.Combine(applicationFolder, "DnnImageModels")} and {Path.Combine(packagesFolder, PackageId.ToLowerInvariant())}. Fetch them with: {AddPackageCommand} (in any project, then restore), " +
            "or pass the path of ResNet18.onnx instead of 'imagenet'.", ModelPath);
    }

    /// <summary>
    /// Loads the ONNX ResNet-18 at <paramref name="onnxPath"/> into <paramref name="network"/>'s body, walking the graph:
    /// every Conv and BatchNormalization must sit where the network has one, with the same kernel, stride, padding and
    /// shapes, and nothing else may be in the graph. The stem's filters are reordered from BGR to RGB. The head is untouched.
    /// </summary>
    /// <exception cref="InvalidDataException">The graph differs from the network; the message names the node.</exception>
    public static void Load(ImageNetResNet18 network, string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        if (!File.Exists(onnxPath)) throw new FileNotFoundException($"No ONNX model at '{onnxPath}'.", onnxPath);
        var graph = OnnxModelFile.Read(onnxPath);
        var copies = new GraphWalk(graph, onnxPath).Match(network);
        using var noGrad = no_grad();
        foreach (var (target, source) in copies)
            using (var values = tensor(source.Values, source.Dims))
                target.copy_(values);
    }

    private static IEnumerable<string> Candidates(string applicationFolder, string packagesFolder)
    {
        yield return Path.Combine(applicationFolder, ModelPath);
        string package = Path.Combine(packagesFolder, PackageId.ToLowerInvariant());
        if (!Directory.Exists(package)) yield break;
        var versions = Directory.GetDirectories(package).Select(Path.GetFileName).OfType<string>()
            .OrderByDescending(v => v == PackageVersion).ThenByDescending(v => v, StringComparer.Ordinal);
        foreach (string version in versions) yield return Path.Combine(package, version, "tools", ModelPath);
    }

    private static string PackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Matches the graph to the network from input to output and pairs each weight with its initializer.</summary>
    private sealed class GraphWalk(OnnxModelFile graph, string path)
    {
        private static readonly HashSet<string> KnownOps = ["Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool"];
        private readonly List<(Tensor Target, OnnxInitializer Source)> _copies = [];
        private readonly HashSet<OnnxNode> _used = [];

        public List<(Tensor Target, OnnxInitializer Source)> Match(ImageNetResNet18 network)
        {
            foreach (var node in graph.Nodes.Where(n => !KnownOps.Contains(n.OpType)))
                throw Refused(node, "is an operator the ResNet-18 body does not have");
            if (graph.Inputs.Count != 1) throw new InvalidDataException($"'{path}' has {graph.Inputs.Count} inputs; the ResNet-18 body has one image input.");

            var (conv1, bn1, pool) = network.Stem;
            string x = ConvNorm(Single(graph.Inputs[0], "Conv"), conv1, bn1, ImageNetResNet18.StemPads, reverseInputChannels: true);
            x = Relu(x);
            var maxPool = Single(x, "MaxPool");
            Expect(maxPool, "kernel_shape", pool.kernel_size.Length == 1 ? [pool.kernel_size[0], pool.kernel_size[0]] : pool.kernel_size);
            Expect(maxPool, "strides", 2, 2);
            Expect(maxPool, "pads", ImageNetResNet18.PoolPads);
            x = Use(maxPool);
            foreach (var layer in network.Layers)
                foreach (var block in layer.children().Cast<TorchVisionBlock>())
                    x = Block(x, block);
            var average = Single(x, "AveragePool");
            if (!graph.Outputs.Contains(Use(average)))
                throw Refused(average, "does not write the graph's output");
            var unused = graph.Nodes.FirstOrDefault(n => !_used.Contains(n));
            if (unused is not null) throw Refused(unused, "is not part of the ResNet-18 body");
            return _copies;
        }

        private string Block(string input, TorchVisionBlock block)
        {
            var convs = Consumers(input).Where(n => n.OpType == "Conv").ToList();
            var shortcut = convs.FirstOrDefault(n => n.Ints("kernel_shape").SequenceEqual([1L, 1L]));
            var main = convs.Where(n => n != shortcut).ToList();
            if (main.Count != 1) throw new InvalidDataException($"'{path}': {main.Count} 3×3 convolutions read '{input}'; a basic block has one.");
            if ((shortcut is null) != (block.Downsample is null))
                throw Refused(main[0], block.Downsample is null ? "starts a block with a 1×1 shortcut where the network has none" : "starts a block without the 1×1 shortcut the network has");
            long stride = block.Layers[0].Conv.stride[0];
            long[] pads = stride == 2 ? [1, 1, 0, 0] : [1, 1, 1, 1];
            string x = Relu(ConvNorm(main[0], block.Layers[0].Conv, block.Layers[0].Norm, pads));
            x = ConvNorm(Single(x, "Conv"), block.Layers[1].Conv, block.Layers[1].Norm, [1, 1, 1, 1]);
            string identity = input;
            if (shortcut is not null)
            {
                var downsample = block.Downsample!.children().ToArray();
                identity = ConvNorm(shortcut, (Conv2d)downsample[0], (BatchNorm2d)downsample[1], [0, 0, 0, 0]);
            }
            var add = Single(x, "Add");
            if (!add.Inputs.Contains(identity)) throw Refused(add, $"does not add the block's shortcut '{identity}'");
            return Relu(Use(add));
        }

        private string ConvNorm(OnnxNode conv, Conv2d target, BatchNorm2d norm, long[] pads, bool reverseInputChannels = false)
        {
            Expect(conv, "kernel_shape", target.kernel_size);
            Expect(conv, "strides", target.stride);
            Expect(conv, "pads", pads);
            Expect(conv, "dilations", 1, 1);
            Expect(conv, "group", 1);
            if (conv.Inputs.Count != 2) throw Refused(conv, "has a bias; the network's convolutions have none");
            var weight = Weight(conv, 1, target.weight);
            _copies.Add((target.weight, reverseInputChannels ? ReverseInputChannels(weight) : weight));

            var bn = Single(Use(conv), "BatchNormalization");
            if (bn.Inputs.Count != 5) throw Refused(bn, "does not have scale, bias, mean and variance");
            if (Math.Abs(bn.Float("epsilon", 1e-5) - norm.eps) > 1e-9) throw Refused(bn, $"uses epsilon {bn.Float("epsilon", 1e-5):G3}; the network's is {norm.eps:G3}");
            Tensor[] targets = [norm.weight!, norm.bias!, norm.running_mean!, norm.running_var!];
            for (int i = 0; i < targets.Length; i++) _copies.Add((targets[i], Weight(bn, i + 1, targets[i])));
            return Use(bn);
        }

        private static OnnxInitializer ReverseInputChannels(OnnxInitializer weight)
        {
            long outputs = weight.Dims[0], inputs = weight.Dims[1], window = weight.Dims[2] * weight.Dims[3];
            var values = new float[weight.Values.Length];
            for (long o = 0; o < outputs; o++)
                for (long i = 0; i < inputs; i++)
                    Array.Copy(weight.Values, (o * inputs + i) * window, values, (o * inputs + inputs - 1 - i) * window, window);
            return weight with { Values = values };
        }

        private OnnxInitializer Weight(OnnxNode node, int input, Tensor target)
        {
            string name = node.Inputs[input];
            if (!graph.Initializers.TryGetValue(name, out var initializer))
                throw Refused(node, $"reads '{name}', which is not a float weight stored in the file");
            if (!initializer.Dims.SequenceEqual(target.shape))
                throw Refused(node, $"has weight '{name}' of shape [{string.Join(", ", initializer.Dims)}]; the network's is [{string.Join(", ", target.shape)}]");
            return initializer;
        }

        private string Relu(string x) => Use(Single(x, "Relu"));

        private void Expect(OnnxNode node, string attribute, params long[] expected)
        {
            long[] actual = node.Ints(attribute, expected);
            if (!actual.SequenceEqual(expected))
                throw Refused(node, $"has {attribute} [{string.Join(", ", actual)}]; the network's is [{string.Join(", ", expected)}]");
        }

        private OnnxNode Single(string value, string opType)
        {
            var consumers = Consumers(value).Where(n => n.OpType == opType && !_used.Contains(n)).ToList();
            if (consumers.Count == 1) return consumers[0];
            var producer = graph.Nodes.FirstOrDefault(n => n.Outputs.Contains(value));
            string after = producer is null ? $"the input '{value}'" : producer.Description;
            throw new InvalidDataException($"'{path}' is not the ResNet-18 body: {after} is followed by {consumers.Count} {opType} nodes where the network has one.");
        }

        private IEnumerable<OnnxNode> Consumers(string value) => graph.Nodes.Where(n => n.Inputs.Contains(value));

        private string Use(OnnxNode node)
        {
            _used.Add(node);
            return node.Outputs[0];
        }

        private InvalidDataException Refused(OnnxNode node, string why) =>
            new($"'{path}' is not the ResNet-18 body this network loads: its {node.Description} {why}.");
    }
}
