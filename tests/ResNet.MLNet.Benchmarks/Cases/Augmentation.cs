using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (3) The training-pass augmentation alone (the chapter's 160 px bytes → 128 px floats, <c>MinScale = 0.5</c>, batch 128),
/// through <see cref="AugmentationThroughput"/> (the code path <c>AugmentImages</c> runs per batch).
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
    }
}
