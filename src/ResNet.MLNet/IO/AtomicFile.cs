using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ResNet.MLNet.IO;

/// <summary>
/// Every file the library and the CLI write goes through here: the content is written to a temporary file in the
/// target's folder (<c>.&lt;name&gt;.&lt;pid&gt;-&lt;random&gt;.tmp</c>), flushed to disk and renamed over the target, so a crash,
/// kill or signal at any instant leaves either the old complete file or the new complete one. Temporaries whose
/// writing process is gone are removed by <see cref="DeleteStale"/>.
/// </summary>
internal static partial class AtomicFile
{
    /// <summary>
    /// Test hook: when this environment variable names a file (e.g. <c>model.zip</c>), writing it pauses after the
    /// temporary file is complete and before the rename, says so on standard error, and waits for cancellation (at
    /// most a minute). Integration tests use it to send a signal at exactly that moment. Not for production use.
    /// </summary>
    public const string PauseBeforeCommitVariable = "RESNET_MLNET_TEST_PAUSE_BEFORE_COMMIT";

    /// <summary>A temporary name in <paramref name="target"/>'s folder, owned by this process.</summary>
    public static string TemporaryPathFor(string target)
    {
        string full = Path.GetFullPath(target);
        return Path.Combine(Path.GetDirectoryName(full)!, TemporaryName(Path.GetFileName(full)));
    }

    /// <summary>A temporary file or folder name for <paramref name="name"/>, owned by this process.</summary>
    public static string TemporaryName(string name) =>
        string.Create(CultureInfo.InvariantCulture, $".{name}.{Environment.ProcessId}-{Random.Shared.Next():x8}.tmp");

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; the folder is created if needed.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="write">Writes the whole content (to a readable, seekable stream, so a zip can be updated in it).</param>
    /// <param name="cancellationToken">Cancelled before the rename, the old file (if any) stays and nothing new is left.</param>
    /// <param name="finishWhenCancelled">Commit the new file even when cancelled (e.g. the checkpoint of a finished epoch).</param>
    /// <exception cref="OperationCanceledException">Cancelled before the rename.</exception>
    public static void Write(string path, Action<Stream> write, CancellationToken cancellationToken = default, bool finishWhenCancelled = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!finishWhenCancelled) cancellationToken.ThrowIfCancellationRequested();
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TemporaryPathFor(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            PauseForTest(full, cancellationToken);
            Commit(temp, full, finishWhenCancelled ? CancellationToken.None : cancellationToken);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, CancellationToken cancellationToken = default)
    {
        byte[] copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy), cancellationToken);
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8, no byte-order mark) to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text, CancellationToken cancellationToken = default) =>
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text), cancellationToken);

    /// <summary>Writes <paramref name="lines"/>, each ended by a newline, to <paramref name="path"/> atomically.</summary>
    public static void WriteAllLines(string path, IEnumerable<string> lines, CancellationToken cancellationToken = default) =>
        WriteAllText(path, string.Concat(lines.Select(l => l + "\n")), cancellationToken);

    /// <summary>
    /// Renames a complete temporary file (from <see cref="TemporaryPathFor"/>) over <paramref name="target"/>, unless
    /// cancellation was requested, in which case the temporary file is deleted and the target left as it was.
    /// </summary>
    public static void Commit(string temporary, string target, CancellationToken cancellationToken = default)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temporary);
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files and folders in <paramref name="folder"/> (not below it) whose writing process no
    /// longer runs; returns how many were removed. A missing folder has none.
    /// </summary>
    public static int DeleteStale(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        int removed = 0;
        foreach (string entry in Directory.EnumerateFileSystemEntries(folder, ".*.tmp"))
        {
            if (TryGetOwner(Path.GetFileName(entry), out int pid) && !ProcessLiveness.IsAlive(pid) && DeleteQuietly(entry))
                removed++;
        }
        return removed;
    }

    /// <summary>True when <paramref name="name"/> is a temporary name from <see cref="TemporaryName"/>; gives its owner's pid.</summary>
    public static bool TryGetOwner(string name, out int pid)
    {
        var match = TemporaryPattern().Match(name);
        pid = 0;
        return match.Success && int.TryParse(match.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out pid);
    }

    /// <summary>Deletes a file or folder; false when it could not be deleted (a missing one counts as deleted).</summary>
    public static bool DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void PauseForTest(string target, CancellationToken cancellationToken)
    {
        string? name = Environment.GetEnvironmentVariable(PauseBeforeCommitVariable);
        if (string.IsNullOrEmpty(name) || !string.Equals(Path.GetFileName(target), name, StringComparison.Ordinal)) return;
        Console.Error.WriteLine($"test hook: paused before committing {target}");
        Console.Error.Flush();
        cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
    }

    [GeneratedRegex(@"^\..+\.(?<pid>\d{1,10})-[0-9a-f]{8}\.tmp$", RegexOptions.CultureInvariant)]
    private static partial Regex TemporaryPattern();
}
