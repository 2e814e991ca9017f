namespace ResNet.MLNet.Runtime;

/// <summary>The CPU model and the instruction-set flags that decide which kernels libtorch can use (Linux /proc/cpuinfo).</summary>
internal static class CpuFeatures
{
    private static readonly Lazy<(string Model, HashSet<string> Flags)> Info = new(Read);

    /// <summary>The "model name" line, e.g. "AMD EPYC 9R45"; "unknown" where it cannot be read.</summary>
    public static string Model => Info.Value.Model;

    /// <summary>Whether the CPU reports <paramref name="flag"/> (e.g. "avx512_bf16", "amx_bf16").</summary>
    public static bool Has(string flag) => Info.Value.Flags.Contains(flag);

    /// <summary>Whether the CPU computes in bf16 natively (AVX512-BF16 or AMX-BF16); elsewhere bf16 is emulated and slow.</summary>
    public static bool HasBf16 => Has("avx512_bf16") || Has("amx_bf16");

    private static (string, HashSet<string>) Read()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                string model = "unknown";
                var flags = new HashSet<string>(StringComparer.Ordinal);
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    string key = line[..colon].Trim();
                    if (key == "model name" && model == "unknown") model = line[(colon + 1)..].Trim();
                    else if (key == "flags" && flags.Count == 0) flags.UnionWith(line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
                    if (model != "unknown" && flags.Count > 0) break;
                }
                return (model, flags);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return ("unknown", []);
    }
}
