namespace ResNet.MLNet.Benchmarks.Harness;

/// <summary>The CPU model and the instruction-set flags that decide which kernels PyTorch and TorchSharp can use.</summary>
public static class CpuInfo
{
    private static readonly string[] NotableFlags = ["avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"];

    /// <summary>E.g. "AMD EPYC 9R45 (avx2 avx512f avx512_bf16)", from /proc/cpuinfo.</summary>
    public static string Describe()
    {
        if (!File.Exists("/proc/cpuinfo")) return "unknown";
        var lines = File.ReadLines("/proc/cpuinfo").ToArray();
        string Field(string name) =>
            lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "";
        var flags = Field("flags").Split(' ').ToHashSet();
        var present = NotableFlags.Where(flags.Contains).ToArray();
        return $"{Field("model name")} ({(present.Length > 0 ? string.Join(' ', present) : "no AVX2")}{(flags.Contains("amx_bf16") ? "" : ", no AMX")})";
    }
}
