using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (1) The raw TorchSharp training step on pre-made tensors (<see cref="RawStepRunner"/>, exactly the trainer's step), beside
/// PyTorch's — the ceiling the full pipeline (section 2) is compared with.
/// </summary>
public static class RawTrainingStep
{
    public const string Section = "1 raw-step";

    public static string CaseName(Architecture architecture, int batch, int size) => $"{architecture.Name} bs{batch} {size}px";

    /// <summary>
    /// Measures the step (<see cref="RawStepRunner"/>); with a PyTorch <paramref name="reference"/>, every TorchSharp run is
    /// followed by a PyTorch run of the same steps in each memory format, and the ratio is the median of the per-round
    /// ratios (alternation cancels the machine's drift). Returns TorchSharp's images/s and CPU seconds per step (all
    /// threads of the process).
    /// </summary>
    public static (double ImagesPerSecond, double CpuSecondsPerStep) Run(ResultTable table, Architecture architecture, int batch, int size, int runs,
        PyTorchReference? reference)
    {
        PeakMemory.Reset();
        using var runner = new RawStepRunner(architecture, batch, size);
        int steps = runner.Steps;
        var measured = new List<CpuTime>();
        var pyTorch = PyTorchReference.Formats.ToDictionary(f => f, _ => new List<double>());
        for (int run = 0; run < runs; run++)
        {
            measured.Add(runner.Run());
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
