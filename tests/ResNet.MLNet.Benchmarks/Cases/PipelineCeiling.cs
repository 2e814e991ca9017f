using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Transforms;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (2) How close the pipeline epoch can get to the raw step on this machine. The raw step keeps the cores busy
/// (section 1 reports its busy cores), so a training pass's data work cannot hide in idle time: each batch costs
/// the step's CPU time plus the data's. The least data work a pass with the chapter's augmentation must do is one
/// bilinear <c>grid_sample</c> of the batch (160 → 128 px); the full tensor work is AugmentImages' batch (bytes →
/// floats, grid_sample, lighting) plus NormalizeImages' multiply-add. Ceiling = step CPU / (step CPU + data CPU).
/// </summary>
public static class PipelineCeiling
{
    public const string Section = "2 ceiling";
    private const string GridCase = "grid_sample alone bs128 160→128px";
    private const string TensorWorkCase = "augment + normalise tensor work bs128 160→128px";

    /// <summary>Measures the data side's CPU seconds per batch (grid_sample alone; the whole tensor work).</summary>
    public static (double GridSample, double TensorWork) MeasureDataWork(ResultTable table, int runs)
    {
        const int batch = PipelineEpoch.Batch, presize = PipelineEpoch.Presize, size = PipelineEpoch.Size;
        var random = new Random(0);
        var pixels = new byte[batch * 3 * presize * presize];
        random.NextBytes(pixels);
        using var bytes = tensor(pixels, [batch, 3, presize, presize]);
        using var floats = bytes.to_type(ScalarType.Float32).div_(255f);
        using var grid = rand(batch, size, size, 2).mul_(2).sub_(1);
        var augmenter = new BatchAugmenter(new AugmentOptions { MinScale = 0.5f, Size = size }, presize, presize);
        using var scale = tensor(ImageStats.ImageNet.Std.Select(s => 1f / s).ToArray(), [1, 3, 1, 1]);
        using var shift = tensor(ImageStats.ImageNet.Mean.Zip(ImageStats.ImageNet.Std, (m, s) => -m / s).ToArray(), [1, 3, 1, 1]);

        void GridSample()
        {
            using var scope = NewDisposeScope();
            nn.functional.grid_sample(floats, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection, true);
        }

        void TensorWork()
        {
            using var scope = NewDisposeScope();
            addcmul(shift, augmenter.Augment(bytes, random), scale, 1);
        }

        double gridCpu = MedianCpu(table, GridCase, GridSample, runs);
        double workCpu = MedianCpu(table, TensorWorkCase, TensorWork, runs);
        return (gridCpu, workCpu);
    }

    private static double MedianCpu(ResultTable table, string name, Action block, int runs)
    {
        block();
        var measured = Enumerable.Range(0, runs).Select(_ => CpuTime.Measure(block)).ToArray();
        var cpu = new Sample(measured.Select(m => m.CpuSeconds).ToArray());
        var wall = new Sample(measured.Select(m => m.WallSeconds).ToArray());
        table.Add(new Result(Section, name, "CPU ms per batch", cpu.Median * 1000, "ms",
            $"wall {wall.Median * 1000:F1} ms, median of {runs}, ±{cpu.SpreadPercent:F0}%"));
        return cpu.Median;
    }

    /// <summary>The ceilings of pipeline / raw step for a model whose raw step costs <paramref name="stepCpuSeconds"/> of CPU per batch.</summary>
    public static void AddCeilings(ResultTable table, string caseName, double stepCpuSeconds, (double GridSample, double TensorWork) data)
    {
        table.Add(new Result("ratio", caseName, "ceiling: step / (step + grid_sample)", stepCpuSeconds / (stepCpuSeconds + data.GridSample), "×",
            "CPU time; no data work can hide in idle cores"));
        table.Add(new Result("ratio", caseName, "ceiling: step / (step + augment + normalise)", stepCpuSeconds / (stepCpuSeconds + data.TensorWork), "×",
            "CPU time of the pipeline's own tensor work"));
    }
}
