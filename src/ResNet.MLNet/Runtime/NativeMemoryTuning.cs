using System.Runtime.InteropServices;

namespace ResNet.MLNet.Runtime;

/// <summary>
/// Keeps glibc from returning large tensor buffers to the kernel after every free. By default glibc maps and
/// unmaps each large allocation, so every training step re-faults its memory; turning that off makes TorchSharp
/// training several times faster on Linux (docs/benchmarks.md). All threads share one arena, because the per-thread
/// arenas glibc otherwise creates map and unmap their heaps anyway.
/// Memory then stays at its peak until the process ends.
/// Opt out with the environment variable <c>RESNET_MLNET_MALLOC_TUNING=0</c>.
/// </summary>
internal static class NativeMemoryTuning
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapMax = -4;
    private const int MallocArenaMax = -8;
    private static int _applied;

    /// <summary>True when the tuning is active in this process.</summary>
    public static bool IsApplied => Volatile.Read(ref _applied) == 1;

    /// <summary>
    /// Applies the tuning once per process (Linux/glibc only; a no-op elsewhere or when opted out).
    /// Call before the first tensor exists; the trainer and CLI do it for you.
    /// </summary>
    /// <returns>True when the tuning is active.</returns>
    public static bool Apply()
    {
        if (IsApplied) return true;
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("RESNET_MLNET_MALLOC_TUNING") == "0")
            return false;
        try
        {
            // One arena: glibc gives other threads (batch readers, OpenMP workers, ML.NET cursors) their own arenas, whose
            // heaps are mapped and unmapped regardless of the two settings above.
            bool ok = mallopt(MallocMmapMax, 0) == 1 & mallopt(MallocTrimThreshold, int.MaxValue) == 1 & mallopt(MallocArenaMax, 1) == 1;
            if (ok) Volatile.Write(ref _applied, 1);
            return ok;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. musl)
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
