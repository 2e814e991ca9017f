using System.Diagnostics;

namespace ResNet.MLNet.IO;

/// <summary>Whether the process that left a temporary file or a lock behind is still running.</summary>
internal static class ProcessLiveness
{
    /// <summary>True when a process with id <paramref name="pid"/> exists (this process included).</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0) return false;
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
