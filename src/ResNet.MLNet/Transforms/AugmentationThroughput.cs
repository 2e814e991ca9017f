using System.Diagnostics;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;

namespace ResNet.MLNet.Transforms;

/// <summary>Result of <see cref="AugmentationThroughput.Measure"/>.</summary>
/// <param name="ImagesPerSecond">Augmented images per second (median over the timed batches).</param>
/// <param name="MedianBatchSeconds">Median seconds per batch.</param>
/// <param name="BestBatchSeconds">Fastest batch (the least disturbed by other processes on a shared machine).</param>
/// <param name="Batches">Timed batches.</param>
/// <param name="BatchSize">Images per batch.</param>
internal sealed record AugmentationThroughputResult(double ImagesPerSecond, double MedianBatchSeconds, double BestBatchSeconds, int Batches, int BatchSize)
{
    /// <summary>Images per second of the fastest batch.</summary>
    public double BestImagesPerSecond => BatchSize / BestBatchSeconds;
}

/// <summary>
/// Micro-measurement of the training-pass augmentation alone (the chapter's 160 px bytes → 128 px floats, batch 128):
/// the same code path <c>AugmentImages</c> runs per batch (byte batch tensor → floats, draw, one grid_sample, lighting).
/// </summary>
internal static class AugmentationThroughput
{
    /// <summary>Augments <paramref name="batches"/> timed batches (after one warm-up batch) of random byte images.</summary>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="inputSize">Input side (the presize).</param>
    /// <param name="options">Augmentation options; default the chapter's min-scale and size (<see cref="ImagePreprocessingOptions"/>).</param>
    /// <param name="batches">Timed batches.</param>
    /// <param name="seed">Seed of the images and draws.</param>
    public static AugmentationThroughputResult Measure(int batchSize = 128, int inputSize = ImagePreprocessingOptions.Defaults.Presize, AugmentOptions? options = null,
        int batches = 10, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 1);
        options ??= new AugmentOptions { MinScale = ImagePreprocessingOptions.Defaults.MinScale, Size = ImagePreprocessingOptions.Defaults.Size };
        NativeMemoryTuning.Apply();
        OpenMpWaitTuning.Apply();
        var random = new Random(seed);
        var pixels = new byte[batchSize * 3 * inputSize * inputSize];
        random.NextBytes(pixels);
        using var images = torch.tensor(pixels, [batchSize, 3, inputSize, inputSize]);
        var augmenter = new BatchAugmenter(options, inputSize, inputSize);
        void AugmentOnce()
        {
            using var scope = torch.NewDisposeScope();
            augmenter.Augment(images, random);
        }

        AugmentOnce();
        var seconds = new double[batches];
        for (int b = 0; b < batches; b++)
        {
            long start = Stopwatch.GetTimestamp();
            AugmentOnce();
            seconds[b] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        Array.Sort(seconds);
        double median = batches % 2 == 1 ? seconds[batches / 2] : (seconds[batches / 2 - 1] + seconds[batches / 2]) / 2;
        return new AugmentationThroughputResult(batchSize / median, median, seconds[0], batches, batchSize);
    }
}
