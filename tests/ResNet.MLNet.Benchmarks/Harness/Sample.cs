namespace ResNet.MLNet.Benchmarks.Harness;

/// <summary>Repeated timings of one measured operation, in seconds per run.</summary>
public sealed class Sample
{
    public Sample(IReadOnlyList<double> seconds) => Seconds = seconds.OrderBy(s => s).ToArray();

    public IReadOnlyList<double> Seconds { get; }

    public double Median => Seconds.Count % 2 == 1
        ? Seconds[Seconds.Count / 2]
        : (Seconds[Seconds.Count / 2 - 1] + Seconds[Seconds.Count / 2]) / 2;

    public double Min => Seconds[0];

    public double Max => Seconds[^1];

    /// <summary>Half the min–max range relative to the median, in percent.</summary>
    public double SpreadPercent => Median > 0 ? (Max - Min) / 2 / Median * 100 : 0;

    /// <summary>Times <paramref name="run"/> after <paramref name="warmup"/> untimed runs.</summary>
    public static Sample Measure(Action run, int warmup, int runs)
    {
        for (int i = 0; i < warmup; i++) run();
        var seconds = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            run();
            seconds[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return new Sample(seconds);
    }
}
