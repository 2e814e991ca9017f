using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Transforms;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (3) The training-pass augmentation alone (the chapter's 160 px bytes → 128 px floats, <c>MinScale = 0.5</c>, batch 128),
/// through <see cref="AugmentationThroughput"/> (the code path <c>AugmentImages</c> runs per batch), and its CPU time per
/// batch (all threads; unlike wall time, barely moved by other processes on the machine).
/// </summary>
public static class Augmentation
{
    public const string Section = "3 augmentation";

    public static void Run(ResultTable table, bool quick)
    {
        int batches = quick ? 4 : 10;
        var result = AugmentationThroughput.Measure(batchSize: 128, inputSize: 160, batches: batches);
        table.Add(new Result(Section, "bs128 160→128px", "images/s", result.ImagesPerSecond, "img/s",
            $"median of {batches} batches, {result.MedianBatchSeconds * 1000:F0} ms per batch"));
        table.Add(new Result(Section, "bs128 160→128px", "images/s, fastest batch", result.BestImagesPerSecond, "img/s",
            $"{result.BestBatchSeconds * 1000:F0} ms per batch"));

        var random = new Random(0);
        var pixels = new byte[128 * 3 * 160 * 160];
        random.NextBytes(pixels);
        using var images = tensor(pixels, [128, 3, 160, 160]);
        var augmenter = new BatchAugmenter(new AugmentOptions { MinScale = 0.5f, Size = 128 }, 160, 160);
        void AugmentOnce()
        {
            using var scope = NewDisposeScope();
            augmenter.Augment(images, random);
        }
        AugmentOnce();
        var cpu = new Sample(Enumerable.Range(0, batches).Select(_ => CpuTime.Measure(AugmentOnce).CpuSeconds).ToArray());
        table.Add(new Result(Section, "bs128 160→128px", "CPU ms per batch", cpu.Median * 1000, "ms",
            $"median of {batches} batches, ±{cpu.SpreadPercent:F0}%"));
    }
}
