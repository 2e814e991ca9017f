namespace ResNet.MLNet.Benchmarks.Harness;

/// <summary>Peak resident set size of this process (Linux /proc), resettable between measurements.</summary>
public static class PeakMemory
{
    /// <summary>Resets the kernel's peak-RSS mark (VmHWM) to the current RSS; false where unsupported.</summary>
    public static bool Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak RSS in MiB since the last reset, or NaN where /proc is not available.</summary>
    public static double PeakMiB() => ReadKiB("VmHWM:") / 1024.0;

    /// <summary>Current RSS in MiB, or NaN where /proc is not available.</summary>
    public static double CurrentMiB() => ReadKiB("VmRSS:") / 1024.0;

    private static double ReadKiB(string field)
    {
        if (!File.Exists("/proc/self/status")) return double.NaN;
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return double.Parse(line[field.Length..].Trim().Split(' ')[0]);
        return double.NaN;
    }
}
