using System.Diagnostics;

namespace ResNet.MLNet.Tests.Data;

/// <summary>
/// A filesystem mounted for one test (a small tmpfs, or a read-only view of a folder), unmounted on dispose. Needs
/// root and mount(8); <see cref="WhyUnavailable"/> says when that is missing.
/// </summary>
internal sealed class Mount : IDisposable
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    private Mount(string target) => Target = target;

    /// <summary>Null when mounts work here; otherwise why not (the tests that need one are skipped with it).</summary>
    public static string? WhyUnavailable => Unavailable.Value;

    /// <summary>The mount point.</summary>
    public string Target { get; }

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> at <paramref name="target"/> (created if needed).</summary>
    public static Mount Tmpfs(string target, long bytes)
    {
        Directory.CreateDirectory(target);
        Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", target);
        return new Mount(target);
    }

    /// <summary>Mounts <paramref name="source"/> read-only at <paramref name="target"/> (created if needed).</summary>
    public static Mount ReadOnlyView(string source, string target)
    {
        Directory.CreateDirectory(target);
        Run("mount", "--bind", source, target);
        var mount = new Mount(target);
        try
        {
            Run("mount", "-o", "remount,bind,ro", target);
            return mount;
        }
        catch
        {
            mount.Dispose();
            throw;
        }
    }

    public void Dispose() => Run("umount", Target);

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "mounts are tested on Linux only";
        if (Environment.UserName != "root") return "mounting a test filesystem needs root";
        string probe = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-mount-probe-{Environment.ProcessId}");
        try
        {
            using (Tmpfs(probe, 1 << 20)) { }
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"mount is not possible here: {e.Message}";
        }
        finally
        {
            try { Directory.Delete(probe); } catch (IOException) { }
        }
    }

    private static void Run(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed: {error.Trim()}");
    }
}
