using System.IO.Compression;
using System.Text;
using ResNet.MLNet.IO;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// A trained network's TorchSharp weights with what continuing from them needs: the architecture's name and the class
/// names in key order. Kept as an extra entry of model.zip (<see cref="EntryName"/>; ML.NET ignores entries it does not
/// know, so stock loaders are unaffected), because the ONNX network there has BatchNorm folded into its convolutions
/// and cannot be trained further.
/// </summary>
internal sealed record NetworkWeights
{
    /// <summary>The model.zip entry holding the weights.</summary>
    public const string EntryName = "ResNet.MLNet/network.weights";

    private const string Magic = "RESNET-MLNET-WEIGHTS";
    private const int Version = 1;

    private NetworkWeights(string architecture, string[] classNames, byte[] state)
    {
        Architecture = architecture;
        ClassNames = classNames;
        ClassCount = classNames.Length;
        State = state;
    }

    /// <summary>The architecture's name (an <c>Architectures</c> entry for built-in ones).</summary>
    public string Architecture { get; }

    /// <summary>The class names in key order; empty when unknown (weights read from a checkpoint, which records only their number).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The number of classes.</summary>
    public int ClassCount { get; private init; }

    private byte[] State { get; }

    /// <summary>The weights of a fitted model.</summary>
    public static NetworkWeights Of(ResNetTransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Of(model.ArchitectureName, model.ClassNames.ToArray(), model.Model);
    }

    internal static NetworkWeights Of(string architecture, string[] classNames, nn.Module network)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            network.save(writer);
        return new NetworkWeights(architecture, classNames, stream.ToArray());
    }

    /// <summary>Adds (or replaces) the weights entry of the model.zip at <paramref name="modelZipPath"/>; the file is replaced atomically.</summary>
    public void AddTo(string modelZipPath) => AtomicFile.Write(modelZipPath, stream =>
    {
        using (var source = File.OpenRead(modelZipPath)) source.CopyTo(stream);
        AddTo(stream);
    });

    /// <summary>Adds (or replaces) the weights entry of the model.zip held in <paramref name="modelZip"/> (readable, writable, seekable; left open).</summary>
    public void AddTo(Stream modelZip)
    {
        modelZip.Position = 0;
        using var zip = new ZipArchive(modelZip, ZipArchiveMode.Update, leaveOpen: true);
        zip.GetEntry(EntryName)?.Delete();
        using var entry = zip.CreateEntry(EntryName, CompressionLevel.Fastest).Open();
        using var writer = new BinaryWriter(entry, Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(Architecture);
        writer.Write(ClassNames.Count);
        foreach (var name in ClassNames) writer.Write(name);
        writer.Write(State.Length);
        writer.Write(State);
    }

    /// <summary>Reads the weights entry of a model.zip.</summary>
    /// <exception cref="InvalidDataException">The file is no zip, or has no (readable) weights entry.</exception>
    public static NetworkWeights ReadFrom(string modelZipPath)
    {
        try
        {
            using var zip = ZipFile.OpenRead(modelZipPath);
            var entry = zip.GetEntry(EntryName) ?? throw new InvalidDataException(
                $"it has no {EntryName} entry: only model.zip files written by 'resnet-mlnet train' or NetworkWeights.AddTo carry the " +
                "trainable weights (the ONNX network has BatchNorm folded in); continue from a checkpoint folder instead");
            using var reader = new BinaryReader(entry.Open(), Encoding.UTF8);
            if (reader.ReadString() != Magic || reader.ReadInt32() != Version) throw new InvalidDataException($"its {EntryName} entry is not of this version");
            string architecture = reader.ReadString();
            var names = new string[reader.ReadInt32()];
            for (int i = 0; i < names.Length; i++) names[i] = reader.ReadString();
            var state = reader.ReadBytes(reader.ReadInt32());
            return new NetworkWeights(architecture, names, state);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Cannot read trainable weights from '{modelZipPath}': {e.Message}.", e);
        }
    }

    /// <summary>
    /// The weights at <paramref name="path"/>: a model.zip with a weights entry, a checkpoint file, or a folder holding
    /// either (a <c>train</c> output folder: its model.zip, else its <c>checkpoints/</c>).
    /// </summary>
    /// <exception cref="InvalidDataException">Nothing there carries trainable weights, or it is damaged.</exception>
    public static NetworkWeights Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            string zip = Path.Combine(path, "model.zip"), checkpoint = TrainingCheckpoint.PathIn(path), nested = TrainingCheckpoint.PathIn(Path.Combine(path, "checkpoints"));
            if (File.Exists(zip) && HasEntry(zip)) return ReadFrom(zip);
            if (File.Exists(checkpoint)) return FromCheckpoint(checkpoint);
            if (File.Exists(nested)) return FromCheckpoint(nested);
            throw new InvalidDataException($"'{path}' holds neither a model.zip with trainable weights nor a checkpoint ({TrainingCheckpoint.FileName}, or checkpoints/{TrainingCheckpoint.FileName}).");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"No model.zip, checkpoint or folder at '{path}'.", path);
        return Path.GetFileName(path) == TrainingCheckpoint.FileName ? FromCheckpoint(path) : ReadFrom(path);
    }

    private static bool HasEntry(string zip)
    {
        try
        {
            using var archive = ZipFile.OpenRead(zip);
            return archive.GetEntry(EntryName) is not null;
        }
        catch (InvalidDataException) { return false; }
    }

    private static NetworkWeights FromCheckpoint(string path)
    {
        var (identity, network) = TrainingCheckpoint.ReadNetwork(path);
        using (network)
            return Of(identity.Architecture, [], network) with { ClassCount = identity.ClassCount };
    }

    /// <summary>
    /// Loads these weights into <paramref name="learner"/>'s model for a run of <paramref name="architecture"/> over
    /// <paramref name="classNames"/>: the architecture and the classes (names in key order where known, else their
    /// number) must be the same; the image size may differ.
    /// </summary>
    internal void ContinueInto(Learner learner, string architecture, IReadOnlyList<string> classNames, string source)
    {
        if (Architecture != architecture)
            throw new ArgumentException($"{source} holds a {Architecture} network; this run trains {architecture} (Options.Architecture). Continue with the same architecture.");
        if (ClassCount != classNames.Count || (ClassNames.Count > 0 && !ClassNames.SequenceEqual(classNames)))
            throw new ArgumentException($"{source} was trained on {ClassCount} classes ({(ClassNames.Count > 0 ? string.Join(", ", ClassNames) : "names not recorded")}); " +
                $"this data has {classNames.Count} ({string.Join(", ", classNames)}). Continuing needs the same classes in the same order.");
        try
        {
            LoadInto(learner.Model);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new ArgumentException($"{source}'s weights do not fit this {architecture} network: {e.Message}", e);
        }
        learner.Half?.SyncAllFromMaster();
    }

    /// <summary>
    /// Writes the weights for PyTorch: a <c>.safetensors</c> file, or a state dict that <c>torch.load</c> reads
    /// (<c>.pt</c>/<c>.pth</c>); the names are the network's (torchvision's for the torchvision architectures, whose
    /// body then loads into torchvision's model). The file is replaced atomically.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not a built-in one (only those can be rebuilt here).</exception>
    public void SavePyTorch(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var network = Modules.Architectures.Get(Architecture).Create(ClassCount);
        LoadInto(network);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = AtomicFile.TemporaryPathFor(full);
        try
        {
            if (full.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) TorchSharp.PyBridge.PyBridgeModuleExtensions.save_safetensors(network, temp);
            else TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(network, temp);
            AtomicFile.Commit(temp, full);
        }
        catch
        {
            AtomicFile.DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>Loads the weights into <paramref name="network"/> (same architecture; names and shapes must match).</summary>
    internal void LoadInto(nn.Module network)
    {
        using var stream = new MemoryStream(State);
        using var reader = new BinaryReader(stream);
        network.load(reader);
    }
}
