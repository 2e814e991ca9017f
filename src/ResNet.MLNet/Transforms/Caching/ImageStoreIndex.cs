using System.Security.Cryptography;
using System.Text;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Transforms.Caching;

/// <summary>Where one source image lives in a store: the source's stamp when it was decoded, and its slot.</summary>
internal readonly record struct ImageStoreEntry(FileStamp Stamp, long Slot);

/// <summary>
/// The index of an image store on disk: the recipe the pixels were made with, the pixels file, its slot count, and
/// one entry per source path. Written atomically and sealed with a SHA-256 of its content, so a torn or foreign index
/// is recognised and the store rebuilt, never half-used.
/// </summary>
internal sealed class ImageStoreIndex
{
    private const string Magic = "ResNet.MLNet image store";
    private const int FormatVersion = 1;

    public ImageStoreIndex(string recipe, string pixelsFile, long slotCount, Dictionary<string, ImageStoreEntry> entries)
    {
        Recipe = recipe;
        PixelsFile = pixelsFile;
        SlotCount = slotCount;
        Entries = entries;
    }

    /// <summary>How the stored pixels were made (decoder, presize, layout); a store only serves its own recipe.</summary>
    public string Recipe { get; }

    /// <summary>The pixels file's name, in the index's folder.</summary>
    public string PixelsFile { get; }

    /// <summary>Slots of the pixels file that entries may use; anything after them is not part of the store.</summary>
    public long SlotCount { get; }

    /// <summary>Source path → entry.</summary>
    public Dictionary<string, ImageStoreEntry> Entries { get; }

    /// <summary>Reads <paramref name="path"/>, or says in <paramref name="problem"/> why it cannot be used.</summary>
    public static ImageStoreIndex? TryRead(string path, string recipe, out string? problem)
    {
        problem = null;
        if (!File.Exists(path)) { problem = "no index yet"; return null; }
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException ex) { problem = $"its index cannot be read ({ex.Message})"; return null; }
        if (bytes.Length == 0) { problem = "its index is empty (0 bytes)"; return null; }
        if (bytes.Length < SHA256.HashSizeInBytes) { problem = $"its index is truncated ({bytes.Length} bytes)"; return null; }
        if ( !SHA256.HashData(bytes.AsSpan(0, bytes.Length - SHA256.HashSizeInBytes))
                .AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - SHA256.HashSizeInBytes)))
        {
            problem = "its index is damaged (checksum mismatch)";
            return null;
        }
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - SHA256.HashSizeInBytes), Encoding.UTF8);
            if (reader.ReadString() != Magic || reader.ReadInt32() != FormatVersion) { problem = "its index has another format"; return null; }
            string storedRecipe = reader.ReadString();
            if (storedRecipe != recipe) { problem = "it was made with another recipe"; return null; }
            string pixelsFile = reader.ReadString();
            long slotCount = reader.ReadInt64();
            int count = reader.ReadInt32();
            var entries = new Dictionary<string, ImageStoreEntry>(count, StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                string source = reader.ReadString();
                var stamp = new FileStamp(reader.ReadInt64(), reader.ReadInt64());
                long slot = reader.ReadInt64();
                if (slot < 0 || slot >= slotCount) { problem = "its index names a slot outside the pixels file"; return null; }
                entries[source] = new ImageStoreEntry(stamp, slot);
            }
            return new ImageStoreIndex(storedRecipe, pixelsFile, slotCount, entries);
        }
        catch (EndOfStreamException)
        {
            problem = "its index is truncated";
            return null;
        }
    }

    /// <summary>Writes the index to <paramref name="path"/> atomically.</summary>
    public void Write(string path, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream();
        using (var writer = new BinaryWriter(content, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Recipe);
            writer.Write(PixelsFile);
            writer.Write(SlotCount);
            writer.Write(Entries.Count);
            foreach (var (source, entry) in Entries)
            {
                writer.Write(source);
                writer.Write(entry.Stamp.Length);
                writer.Write(entry.Stamp.LastWriteTicks);
                writer.Write(entry.Slot);
            }
        }
        content.Write(SHA256.HashData(content.GetBuffer().AsSpan(0, (int)content.Length)));
        AtomicFile.WriteAllBytes(path, content.GetBuffer().AsSpan(0, (int)content.Length), cancellationToken);
    }
}
