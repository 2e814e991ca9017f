using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (1) The raw TorchSharp training step on pre-made tensors, exactly the trainer's step: <see cref="Learner.TrainBatch"/>
/// (forward, cross-entropy, loss read-back, backward, <see cref="FastaiAdam"/> step with the one-cycle learning rate and
/// momentum, gradients cleared; channels-last input, the trainer's CPU default) — the ceiling the full pipeline (section 2) is
/// compared with.
/// </summary>
public static class RawTrainingStep
{
    public const string Section = "1 raw-step";

    public static string CaseName(Architecture architecture, int batch, int size) => $"{architecture.Name} bs{batch} {size}px";

    /// <summary>A run lasts at least this long: enough steps that timer and scheduler noise stay small.</summary>
    private const double RunSeconds = 0.6;

    /// <summary>
    /// Measures the step in runs of as many steps as take <see cref="RunSeconds"/> (at least 2); with a PyTorch
    /// <paramref name="reference"/>, every TorchSharp run is followed by a PyTorch run of the same steps in each memory
    /// format, and the ratio is the median of the per-round ratios (alternation cancels the machine's drift).
    /// Returns TorchSharp's images/s and CPU seconds per step (all threads of the process).
    /// </summary>
    public static (double ImagesPerSecond, double CpuSecondsPerStep) Run(ResultTable table, Architecture architecture, int batch, int size, int runs,
        PyTorchReference? reference)
    {
        manual_seed(0);
        using var model = architecture.Create(10);
        model.train();
        using var learner = new Learner(model, CPU, batch, weightDecay: 0.01, halfPrecision: null, TextWriter.Null, progressBar: false,
            channelsLast: MemoryFormat.Resolve(null, CPU));
        var schedule = new OneCycleSchedule(1e-3);
        using var x = randn(batch, 3, size, size);
        using var y = randint(0, 10, new long[] { batch });
        var premade = new ImageBatch(x, y);
        int steps = 1, step = 0, total = 1;

        void Steps()
        {
            for (int i = 0; i < steps; i++, step++)
            {
                double position = Math.Min(1, (double)step / total);
                learner.TrainBatch(premade, schedule.LearningRate(position), schedule.Momentum(position), 0, step);
            }
        }

        PeakMemory.Reset();
        Steps();   // first step: allocations, oneDNN primitive creation
        double one = CpuTime.Measure(Steps).WallSeconds;
        steps = Math.Clamp((int)Math.Ceiling(RunSeconds / one), 2, 32);
        total = 2 + (1 + runs) * steps;
        Steps();
        var measured = new List<CpuTime>();
        var pyTorch = PyTorchReference.Formats.ToDictionary(f => f, _ => new List<double>());
        for (int run = 0; run < runs; run++)
        {
            measured.Add(CpuTime.Measure(Steps));
            if (reference is null) continue;
            foreach (string format in PyTorchReference.Formats)
                pyTorch[format].Add(reference.Run(architecture.Name, size, batch, format, steps));
        }
        var sample = new Sample(measured.Select(m => m.WallSeconds).ToArray());
        var cpu = new Sample(measured.Select(m => m.CpuSeconds).ToArray());
        string name = CaseName(architecture, batch, size);
        double imagesPerSecond = steps * batch / sample.Median;
        table.Add(new Result(Section, name, "images/s", imagesPerSecond, "img/s", $"±{sample.SpreadPercent:F1}% over {runs}×{steps} steps"));
        table.Add(new Result(Section, name, "cores busy during the step", cpu.Median / sample.Median, "cores",
            $"process CPU time / wall time; {cpu.Median / steps * 1000:F0} ms CPU per step"));
        table.Add(new Result(Section, name, "peak RSS", PeakMemory.PeakMiB(), "MiB"));
        if (reference is not null)
            foreach (var (format, seconds) in pyTorch)
            {
                var theirs = new Sample(seconds);
                table.Add(new Result(PyTorchReference.Section, name, $"images/s, {format} format", steps * batch / theirs.Median, "img/s",
                    $"PyTorch {reference.Version}, AdamW, ±{theirs.SpreadPercent:F1}% over {runs}×{steps} steps, allocator tuned"));
                var paired = new Sample(seconds.Zip(measured, (t, ours) => t / ours.WallSeconds).ToArray());
                table.Add(new Result("ratio", name, $"TorchSharp / PyTorch {format} format", paired.Median, "×",
                    $"target ≥ 1.0; median of {runs} alternating rounds (range {paired.Min:F2}–{paired.Max:F2})"));
            }
        return (imagesPerSecond, cpu.Median / steps);
    }
}
