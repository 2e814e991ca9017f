using System.Diagnostics;
using System.Globalization;
using ResNet.MLNet.Data;
using ResNet.MLNet.IO;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// Presized images decoded once, looked up by source path: in memory, or on disk as an index plus one pixels file
/// read memory-mapped (see <see cref="ImageCache"/>). On disk, an update decodes only sources that are new or whose
/// length or modification time changed, forgets sources that no longer exist, and appends; the index is replaced
/// atomically after the pixels are durable, so an interrupted update leaves the previous store whole. Space for new
/// pixels is reserved before they are written: on a full disk the update fails with an error naming the folder and
/// removes what it added. A store in a folder that cannot be written is read as it is when it holds every image.
/// </summary>
internal sealed class ImageStore : IDisposable
{
    private readonly PixelSlots _slots;
    private readonly Dictionary<string, long> _slotOf;
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private ImageStore(PresizeRecipe recipe, PixelSlots slots, Dictionary<string, long> slotOf)
    {
        Recipe = recipe;
        _slots = slots;
        _slotOf = slotOf;
        _lookup = slotOf.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>How the stored pixels were made.</summary>
    public PresizeRecipe Recipe { get; }

    /// <summary>Images stored.</summary>
    public int Count => _slotOf.Count;

    /// <summary>The key a source path is stored under: the path itself when fully qualified, else its full path.</summary>
    public static string KeyOf(string path) => Path.IsPathFullyQualified(path) ? path : Path.GetFullPath(path);

    /// <summary>The slot of the image decoded from <paramref name="path"/>, if stored.</summary>
    public bool TryGetSlot(ReadOnlySpan<char> path, out long slot) =>
        Path.IsPathFullyQualified(path) ? _lookup.TryGetValue(path, out slot) : _slotOf.TryGetValue(Path.GetFullPath(path.ToString()), out slot);

    /// <summary>Whether the image decoded from <paramref name="path"/> is stored.</summary>
    public bool Contains(ReadOnlySpan<char> path) => TryGetSlot(path, out _);

    /// <summary>The planar RGB bytes in <paramref name="slot"/>.</summary>
    public ReadOnlySpan<byte> Pixels(long slot) => _slots[slot];

    public void Dispose() => _slots.Dispose();

    /// <summary>A store holding every one of <paramref name="fullPaths"/> (keys, see <see cref="KeyOf"/>), decoding what <paramref name="cache"/> does not hold yet.</summary>
    public static ImageStore Build(ImageCache cache, PresizeRecipe recipe, IReadOnlyCollection<string> fullPaths)
    {
        return cache.Directory is null ? BuildInMemory(cache, recipe, fullPaths) : new DiskUpdate(cache, recipe).Run(fullPaths);
    }

    private static ImageStore BuildInMemory(ImageCache cache, PresizeRecipe recipe, IReadOnlyCollection<string> fullPaths)
    {
        var paths = fullPaths.ToArray();
        var slots = new ManagedPixelSlots(recipe.ImageBytes);
        slots.EnsureCapacity(paths.Length);
        var slotNumbers = Enumerable.Range(0, paths.Length).Select(i => (long)i).ToArray();
        Decode(cache, recipe, paths, slotNumbers, slots, "in memory", new bool[paths.Length]);
        var slotOf = new Dictionary<string, long>(paths.Length, StringComparer.Ordinal);
        for (int i = 0; i < paths.Length; i++) slotOf[paths[i]] = i;
        return new ImageStore(recipe, slots, slotOf);
    }

    /// <summary>Decodes into slots with a progress bar and a closing line; <paramref name="done"/> says which finished.</summary>
    private static void Decode(ImageCache cache, PresizeRecipe recipe, string[] paths, long[] slots, PixelSlots target, string where, bool[] done)
    {
        if (paths.Length == 0) return;
        var log = cache.Log;
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"image cache: decoding {paths.Length:N0} images ({recipe.Method.ToString().ToLowerInvariant()} to {recipe.Size} px) {where}"));
        var bar = log is not null && ConsoleProgressBar.IsTerminal(log) ? new ConsoleProgressBar(log, "decoding", paths.Length) : null;
        var clock = Stopwatch.StartNew();
        long count = 0;
        var gate = new Lock();
        try
        {
            recipe.DecodeInto(paths, slots, target, done, () =>
            {
                long n = Interlocked.Increment(ref count);
                if (bar is null) return;
                lock (gate) bar.Update(n);
            }, cache.CancellationToken);
        }
        finally
        {
            bar?.Clear();
        }
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"image cache: {paths.Length:N0} images decoded in {clock.Elapsed.TotalSeconds:F1} s ({paths.Length / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0}/s)"));
    }

    /// <summary>One update of a store on disk, under its lock file.</summary>
    private sealed class DiskUpdate(ImageCache cache, PresizeRecipe recipe)
    {
        private readonly string _directory = cache.Directory!;
        private string IndexPath => Path.Combine(_directory, recipe.Tag + ".index");

        public ImageStore Run(IReadOnlyCollection<string> fullPaths)
        {
            Directory.CreateDirectory(_directory);
            AtomicFile.DeleteStale(_directory);
            using var writerLock = AcquireLock(out string? unwritable);
            if (writerLock is null) return OpenUnwritable(fullPaths, unwritable!);
            var index = OpenIndex(out var slots);
            try
            {
                int forgotten = ForgetMissingSources(index, fullPaths);
                var (paths, stamps) = StaleOrNew(index, fullPaths);
                cache.Log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"image cache: {fullPaths.Count - paths.Length:N0} of {fullPaths.Count:N0} images reused from {_directory}"));
                if (paths.Length > 0 || forgotten > 0) index = Append(index, slots, paths, stamps);
                if (index.SlotCount > 2L * index.Entries.Count + 1024) (index, slots) = Compact(index, slots);
                return new ImageStore(recipe, slots, index.Entries.ToDictionary(e => e.Key, e => e.Value.Slot, StringComparer.Ordinal));
            }
            catch
            {
                slots.Dispose();
                if (!IsPublished(index.PixelsFile)) AtomicFile.DeleteQuietly(Path.Combine(_directory, index.PixelsFile));
                throw;
            }
        }

        /// <summary>Whether the index on disk refers to <paramref name="pixelsFile"/> (a pixels file no index names is this update's own).</summary>
        private bool IsPublished(string pixelsFile) =>
            ImageStoreIndex.TryRead(IndexPath, recipe.Identity, out _)?.PixelsFile == pixelsFile;

        /// <summary>The store as it is, in a folder this process cannot write; an error at once unless it holds every image.</summary>
        private ImageStore OpenUnwritable(IReadOnlyCollection<string> fullPaths, string reason)
        {
            var index = ImageStoreIndex.TryRead(IndexPath, recipe.Identity, out string? problem);
            if (index is not null)
            {
                var pixels = new FileInfo(Path.Combine(_directory, index.PixelsFile));
                if (!pixels.Exists || pixels.Length < index.SlotCount * recipe.ImageBytes) (index, problem) = (null, "its pixels file is missing or truncated");
            }
            int missing = index is null ? fullPaths.Count : StaleOrNew(index, fullPaths).Paths.Length;
            if (missing > 0)
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"The image cache folder '{_directory}' cannot be written ({reason}), and its store lacks {missing:N0} of the {fullPaths.Count:N0} images" +
                    $"{(index is null && problem is not null ? $" ({problem})" : "")}. Make the folder writable, or choose another cache folder or keep the images in memory."));
            cache.Log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"image cache: {fullPaths.Count:N0} of {fullPaths.Count:N0} images reused from {_directory} (read-only)"));
            var slots = MappedPixelSlots.OpenReadOnly(Path.Combine(_directory, index!.PixelsFile), recipe.ImageBytes);
            return new ImageStore(recipe, slots, index.Entries.ToDictionary(e => e.Key, e => e.Value.Slot, StringComparer.Ordinal));
        }

        /// <summary>The index and its pixels file; a missing, damaged, foreign or truncated store starts again empty.</summary>
        private ImageStoreIndex OpenIndex(out MappedPixelSlots slots)
        {
            var index = ImageStoreIndex.TryRead(IndexPath, recipe.Identity, out string? problem);
            if (index is not null)
            {
                var pixels = new FileInfo(Path.Combine(_directory, index.PixelsFile));
                if (!pixels.Exists) problem = "its pixels file is missing";
                else if (pixels.Length < index.SlotCount * recipe.ImageBytes) problem = "its pixels file is truncated";
                if (problem is not null) index = null;
            }
            if (index is null)
            {
                if (File.Exists(IndexPath)) cache.Log?.WriteLine($"image cache: rebuilding the store in {_directory}: {problem}");
                index = new ImageStoreIndex(recipe.Identity, NewPixelsFileName(), 0, new Dictionary<string, ImageStoreEntry>(StringComparer.Ordinal));
                DeletePixelsFilesExcept(index.PixelsFile);
            }
            slots = new MappedPixelSlots(Path.Combine(_directory, index.PixelsFile), recipe.ImageBytes);
            return index;
        }

        /// <summary>Drops entries whose source is gone (the requested paths are checked when their stamps are read).</summary>
        private static int ForgetMissingSources(ImageStoreIndex index, IReadOnlyCollection<string> requested)
        {
            var keep = requested as ISet<string> ?? requested.ToHashSet(StringComparer.Ordinal);
            var gone = index.Entries.Keys.Where(path => !keep.Contains(path) && !File.Exists(path)).ToList();
            foreach (var path in gone) index.Entries.Remove(path);
            return gone.Count;
        }

        private static (string[] Paths, FileStamp[] Stamps) StaleOrNew(ImageStoreIndex index, IReadOnlyCollection<string> fullPaths)
        {
            var paths = new List<string>();
            var stamps = new List<FileStamp>();
            foreach (var path in fullPaths)
            {
                var stamp = FileStamp.Of(path) ?? throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
                if (index.Entries.TryGetValue(path, out var entry) && entry.Stamp == stamp) continue;
                paths.Add(path);
                stamps.Add(stamp);
            }
            return (paths.ToArray(), stamps.ToArray());
        }

        /// <summary>
        /// Decodes <paramref name="paths"/> into new slots after the existing ones, then publishes an index with every
        /// finished image — also when decoding fails or is cancelled, so that work is kept — and rethrows any failure.
        /// </summary>
        private ImageStoreIndex Append(ImageStoreIndex index, MappedPixelSlots slots, string[] paths, FileStamp[] stamps)
        {
            var numbers = new long[paths.Length];
            for (int i = 0; i < paths.Length; i++) numbers[i] = index.SlotCount + i;
            try
            {
                slots.EnsureCapacity(index.SlotCount + paths.Length);
            }
            catch (IOException e) when (e.HResult == DiskSpace.NoSpace)
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"The image cache cannot store {paths.Length:N0} more images ({recipe.ImageBytes:N0} bytes each): {e.Message} " +
                    $"Free some space, or choose another cache folder or keep the images in memory; the store there is as it was."), e);
            }
            bool[] done = new bool[paths.Length];
            try
            {
                Decode(cache, recipe, paths, numbers, slots, $"into {_directory}", done);
            }
            finally
            {
                slots.Flush();
                for (int i = 0; i < paths.Length; i++)
                    if (done[i]) index.Entries[paths[i]] = new ImageStoreEntry(stamps[i], numbers[i]);
                var updated = new ImageStoreIndex(recipe.Identity, index.PixelsFile, index.SlotCount + paths.Length, index.Entries);
                updated.Write(IndexPath, CancellationToken.None);
                index = updated;
            }
            return index;
        }

        /// <summary>Copies the live slots into a new pixels file when more than half of the old one is unused.</summary>
        private (ImageStoreIndex, MappedPixelSlots) Compact(ImageStoreIndex index, MappedPixelSlots slots)
        {
            string name = NewPixelsFileName();
            var compacted = new MappedPixelSlots(Path.Combine(_directory, name), recipe.ImageBytes);
            var entries = new Dictionary<string, ImageStoreEntry>(index.Entries.Count, StringComparer.Ordinal);
            try
            {
                compacted.EnsureCapacity(index.Entries.Count);
            }
            catch (IOException e) when (e.HResult == DiskSpace.NoSpace)
            {
                compacted.Dispose();
                AtomicFile.DeleteQuietly(Path.Combine(_directory, name));
                cache.Log?.WriteLine($"image cache: not compacted: {e.Message}");
                return (index, slots);
            }
            long next = 0;
            foreach (var (path, entry) in index.Entries)
            {
                slots[entry.Slot].CopyTo(compacted[next]);
                entries[path] = entry with { Slot = next++ };
            }
            compacted.Flush();
            var updated = new ImageStoreIndex(recipe.Identity, name, next, entries);
            updated.Write(IndexPath, CancellationToken.None);
            slots.Dispose();
            DeletePixelsFilesExcept(name);
            return (updated, compacted);
        }

        private string NewPixelsFileName() => $"{recipe.Tag}.{Guid.NewGuid().ToString("N")[..12]}.pixels";

        private void DeletePixelsFilesExcept(string keep)
        {
            foreach (var file in Directory.EnumerateFiles(_directory, recipe.Tag + ".*.pixels"))
                if (Path.GetFileName(file) != keep)
                    File.Delete(file);
        }

        /// <summary>
        /// The store's lock file, held exclusively while the store is updated; waits for another process's update. Null
        /// when the folder cannot be written (<paramref name="unwritable"/> says why): then nobody updates the store.
        /// </summary>
        private FileStream? AcquireLock(out string? unwritable)
        {
            string path = Path.Combine(_directory, recipe.Tag + ".lock");
            bool said = false;
            unwritable = null;
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (Exception e) when (e is UnauthorizedAccessException || (e is IOException && !IsHeldByAnotherProcess((IOException)e)))
                {
                    unwritable = e.Message;
                    return null;
                }
                catch (IOException)
                {
                    if (!said) cache.Log?.WriteLine($"image cache: waiting for another process updating {_directory} …");
                    said = true;
                    cache.CancellationToken.WaitHandle.WaitOne(250);
                    cache.CancellationToken.ThrowIfCancellationRequested();
                }
            }
        }

        /// <summary>The error of opening a lock file that another process holds (EWOULDBLOCK on Unix, a sharing violation on Windows).</summary>
        private static bool IsHeldByAnotherProcess(IOException e) => e.HResult is 11 or unchecked((int)0x80070020);
    }
}
