using System.Globalization;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// The lock a <c>train</c> run holds on its output folder (<c>.resnet-mlnet.lock</c>, holding the owner's pid), so a
/// second run into the same folder fails before loading data instead of mixing its files with the first one's. A lock
/// whose process is gone (a killed run) is taken over.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    public const string FileName = ".resnet-mlnet.lock";
    private readonly string _path;

    private OutputLock(string path) => _path = path;

    /// <summary>Takes the lock on <paramref name="folder"/> (an existing folder); <paramref name="flag"/> names it in errors.</summary>
    /// <exception cref="IOException">Another running process holds it.</exception>
    public static OutputLock Acquire(string folder, string flag, TextWriter log)
    {
        string path = Path.Combine(folder, FileName);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                stream.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
                stream.Flush(flushToDisk: true);
                return new OutputLock(path);
            }
            catch (IOException) when (File.Exists(path) && attempt < 3)
            {
                int? holder = ReadHolder(path);
                if (holder is int pid && ProcessLiveness.IsAlive(pid))
                    throw new IOException($"{flag} {folder} is in use by another run (pid {pid}, lock file {path}); " +
                        $"wait for it to finish or choose another {flag}.");
                if (holder is null && DateTime.UtcNow - File.GetLastWriteTimeUtc(path) < TimeSpan.FromSeconds(10))
                    throw new IOException($"{flag} {folder} is being locked by another run (lock file {path}); choose another {flag}.");
                log.WriteLine($"note: taking over the lock on {folder} left by a run that no longer runs{(holder is int dead ? $" (pid {dead})" : "")}.");
                File.Delete(path);
            }
        }
    }

    private static int? ReadHolder(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => AtomicFile.DeleteQuietly(_path);
}
