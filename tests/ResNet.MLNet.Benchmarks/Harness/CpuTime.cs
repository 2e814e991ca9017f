using System.Diagnostics;

namespace ResNet.MLNet.Benchmarks.Harness;

/// <summary>Wall and process CPU time of a measured block: CPU / wall is how many cores were busy on average.</summary>
public readonly record struct CpuTime(double WallSeconds, double CpuSeconds)
{
    /// <summary>Average busy cores over the block.</summary>
    public double Cores => WallSeconds > 0 ? CpuSeconds / WallSeconds : 0;

    /// <summary>Runs <paramref name="block"/> once and measures it.</summary>
    public static CpuTime Measure(Action block)
    {
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        block();
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        process.Refresh();
        return new CpuTime(wall, (process.TotalProcessorTime - cpuBefore).TotalSeconds);
    }
}
