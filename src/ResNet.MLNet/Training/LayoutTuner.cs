using System.Diagnostics;

namespace ResNet.MLNet.Training;

/// <summary>
/// Chooses the memory layout of training batches (channels-last or not) by timing real training steps, as cuDNN's
/// benchmark mode chooses algorithms: which layout is faster depends on the network and the batch (measured on 2 cores:
/// channels-last made a 32 × 64 px ResBlockCnn step 1.4× faster but a SimpleCnn step 10 % slower; at 128 × 128 px it won for
/// every chapter model). While tuning, the first <see cref="TuningSteps"/> steps alternate the layouts (the values are the
/// same up to float rounding, so training is unaffected); the first two steps of each layout are warm-ups (allocations,
/// oneDNN primitives), and the fastest of the other three decides (interference from other processes only adds time).
/// A fixed tuner never probes.
/// </summary>
internal sealed class LayoutTuner
{
    /// <summary>Training steps spent deciding: 2 warm-ups and 3 timed steps per layout.</summary>
    private const int WarmupSteps = 2;

    public const int TuningSteps = 10;

    private readonly List<double>[] _seconds = [[], []];
    private readonly TextWriter? _log;
    private int _steps;
    private bool? _decided;

    private LayoutTuner(bool? fixedLayout, TextWriter? log)
    {
        _decided = fixedLayout;
        _log = log;
    }

    /// <summary>Always the given layout.</summary>
    public static LayoutTuner Fixed(bool channelsLast) => new(channelsLast, null);

    /// <summary>Times the first training steps in both layouts and keeps the faster (the decision is written to <paramref name="log"/>).</summary>
    public static LayoutTuner Tuning(TextWriter log) => new(null, log);

    /// <summary>True until the layout is decided.</summary>
    public bool IsTuning => _decided is null;

    /// <summary>The decided layout; while tuning, the default (not channels-last).</summary>
    public bool ChannelsLast => _decided ?? false;

    /// <summary>The layout of the next training step.</summary>
    public bool NextStep() => _decided ?? _steps % 2 == 1;

    /// <summary>Runs one training step in <see cref="NextStep"/>'s layout, timing it while tuning.</summary>
    public T Step<T>(Func<bool, T> step)
    {
        bool channelsLast = NextStep();
        if (!IsTuning) return step(channelsLast);
        long start = Stopwatch.GetTimestamp();
        var result = step(channelsLast);
        Record(channelsLast, Stopwatch.GetElapsedTime(start).TotalSeconds);
        return result;
    }

    /// <summary>Records a tuning step's time; decides after <see cref="TuningSteps"/> steps.</summary>
    public void Record(bool channelsLast, double seconds)
    {
        if (!IsTuning) return;
        _steps++;
        _seconds[channelsLast ? 1 : 0].Add(seconds);
        if (_steps < TuningSteps) return;
        double standard = _seconds[0].Skip(WarmupSteps).Min(), nhwc = _seconds[1].Skip(WarmupSteps).Min();
        _decided = nhwc < standard;
        _log?.WriteLine($"note: memory layout {(_decided.Value ? "channels-last" : "NCHW")} " +
            $"(fastest training step NCHW {standard * 1000:F0} ms, channels-last {nhwc * 1000:F0} ms).");
    }
}
