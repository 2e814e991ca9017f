using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// Loads weights that PyTorch wrote — a <c>state_dict</c> saved with <c>torch.save</c> (<c>.pt</c>/<c>.pth</c>) or a
/// <c>.safetensors</c> file — into a TorchSharp module whose names match (e.g. a <see cref="TorchVisionResNet"/> and
/// torchvision's weights). Every key is checked first: a missing, unexpected or mis-shaped one is an error that names
/// it, and nothing is changed.
/// </summary>
internal static class PyTorchWeights
{
    /// <summary>Reads the tensors of a <c>.pt</c>/<c>.pth</c> state dict or a <c>.safetensors</c> file, by name.</summary>
    /// <exception cref="InvalidDataException">The file is neither, or is damaged.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No weights file at '{path}'.", path);
        try
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return Safetensors.LoadStateDict(path);
            CheckPyTorchFile(path);
            var table = PyTorchUnpickler.UnpickleStateDict(path);
            var tensors = new Dictionary<string, Tensor>();
            foreach (DictionaryEntry entry in table)
                tensors[(string)entry.Key] = entry.Value as Tensor
                    ?? throw new InvalidDataException($"entry '{entry.Key}' is not a tensor (save the model's state_dict(), not the model)");
            return tensors;
        }
        catch (Exception e) when (e is not FileNotFoundException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' is not a PyTorch state dict (.pt/.pth saved with torch.save(model.state_dict())) " +
                $"or a .safetensors file: {e.GetBaseException().Message}", e);
        }
    }

    /// <summary>
    /// Tells PyTorch's two file formats from anything else by their first bytes: since PyTorch 1.6 a zip archive,
    /// before that a pickle starting with PyTorch's magic number (the format TorchSharp cannot read).
    /// </summary>
    private static void CheckPyTorchFile(string path)
    {
        Span<byte> head = stackalloc byte[8];
        using (var file = File.OpenRead(path)) head = head[..file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        if (head.StartsWith("PK\u0003\u0004"u8)) return;
        if (head.StartsWith(new byte[] { 0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46 }))
            throw new InvalidDataException("it was saved in PyTorch's legacy format (before 1.6), which TorchSharp cannot read; " +
                "load it in PyTorch and save it again with torch.save(state_dict, path) (or as .safetensors)");
        throw new InvalidDataException($"its content is not a PyTorch file (PyTorch writes a zip archive; this file begins {Convert.ToHexString(head)})");
    }

    /// <summary>
    /// Copies the weights in <paramref name="path"/> into <paramref name="module"/>. Keys starting with one of
    /// <paramref name="ignoredPrefixes"/> are left out on both sides (e.g. <c>fc.</c> of a pretrained classifier and
    /// <c>head.</c> of the new one); BatchNorm's <c>num_batches_tracked</c> counters are not needed.
    /// </summary>
    /// <exception cref="ArgumentException">A key is missing, unexpected or of another shape; the message names the first.</exception>
    public static void Load(nn.Module module, string path, params string[] ignoredPrefixes)
    {
        ArgumentNullException.ThrowIfNull(module);
        var loaded = Read(path);
        try
        {
            bool Kept(string key) => !ignoredPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));
            var target = module.state_dict().Where(kv => Kept(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            var source = loaded.Where(kv => Kept(kv.Key) && !(kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal) && !target.ContainsKey(kv.Key)))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            string? missing = target.Keys.FirstOrDefault(k => !source.ContainsKey(k) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
            if (missing is not null)
                throw new ArgumentException($"'{path}' has no weights for '{missing}' ({target.Keys.Count(k => !source.ContainsKey(k))} of the network's " +
                    $"{target.Count} tensors are missing). Is it a state dict of the same architecture?");
            string? unexpected = source.Keys.Where(k => !target.ContainsKey(k)).Order(StringComparer.Ordinal).FirstOrDefault();
            if (unexpected is not null)
                throw new ArgumentException($"'{path}' holds '{unexpected}', which this network does not have " +
                    $"({source.Keys.Count(k => !target.ContainsKey(k))} such tensors). Is it a state dict of the same architecture?");
            string? misShaped = target.Keys.FirstOrDefault(k => source.TryGetValue(k, out var v) && !v.shape.SequenceEqual(target[k].shape));
            if (misShaped is not null)
                throw new ArgumentException($"'{path}' holds '{misShaped}' with shape [{string.Join(", ", source[misShaped].shape)}]; " +
                    $"the network's is [{string.Join(", ", target[misShaped].shape)}].");
            using var noGrad = no_grad();
            foreach (var (key, value) in source)
                target[key].copy_(value.to(target[key].dtype, target[key].device));
        }
        finally
        {
            foreach (var tensor in loaded.Values) tensor.Dispose();
        }
    }
}
