using ResNet.MLNet.IO;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// A command's output folder, checked before any download, data loading or training: created if missing, proven
/// writable, cleared of temporary files that killed runs left behind. A folder this run created is removed again
/// when the run fails or is cancelled before writing anything into it.
/// </summary>
internal sealed class OutputFolder : IDisposable
{
    private readonly bool _created;
    private bool _kept;

    private OutputFolder(string path, bool created)
    {
        Path = path;
        _created = created;
    }

    /// <summary>The absolute folder path.</summary>
    public string Path { get; }

    /// <summary>Checks (and creates) <paramref name="folder"/>; <paramref name="flag"/> names it in errors.</summary>
    /// <exception cref="IOException">It cannot be created or written.</exception>
    public static OutputFolder Prepare(string folder, string flag)
    {
        string full = System.IO.Path.GetFullPath(folder);
        if (File.Exists(full)) throw new IOException($"{flag} {full} is a file, not a folder.");
        bool created = !Directory.Exists(full);
        try
        {
            Directory.CreateDirectory(full);
            string probe = AtomicFile.TemporaryPathFor(System.IO.Path.Combine(full, "write-test"));
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (created) RemoveIfEmpty(full);
            throw new IOException($"{flag} {full} is not writable: {e.Message}", e);
        }
        AtomicFile.DeleteStale(full);
        return new OutputFolder(full, created);
    }

    /// <summary>Keeps the folder whatever happens next (the run wrote its results).</summary>
    public void Keep() => _kept = true;

    public void Dispose()
    {
        if (_created && !_kept) RemoveIfEmpty(Path);
    }

    private static void RemoveIfEmpty(string folder)
    {
        try
        {
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
