using BenchmarkDotNet.Attributes;
using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using TorchSharp;

namespace ResNet.MLNet.Benchmarks.Micro;

/// <summary>
/// BenchmarkDotNet micro-benchmarks (run with <c>--bdn</c>): one batch of the training-pass augmentation, and
/// NormalizeImages' training pass over one batch of rows.
/// </summary>
[MemoryDiagnoser]
public class TransformMicroBenchmarks
{
    private const int Batch = 128;
    private const int Presize = 160;
    private const int Size = 128;
    private torch.Tensor? _bytes;
    private IDataView? _normalizedView;
    private BatchAugmenter? _augmenter;
    private Random _random = new(0);

    [GlobalSetup]
    public void Setup()
    {
        TrainingDevice.InitialiseTorch();
        var pixels = new byte[Batch * 3 * Presize * Presize];
        _random.NextBytes(pixels);
        _bytes = torch.tensor(pixels, [Batch, 3, Presize, Presize]);
        var ml = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, Batch).Select(_ =>
            new PixelRow { Pixels = Enumerable.Range(0, 3 * Size * Size).Select(_ => _random.NextSingle()).ToArray() }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        _normalizedView = ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet).Fit(data).Transform(data);
        _augmenter = new BatchAugmenter(new AugmentOptions { MinScale = 0.5f, Size = Size }, Presize, Presize);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bytes?.Dispose();
    }

    /// <summary>One training batch of augmentation (bytes → floats, draw, grid_sample, lighting).</summary>
    [Benchmark]
    public void AugmentBatch128()
    {
        using var scope = torch.NewDisposeScope();
        _augmenter!.Augment(_bytes!, _random);
    }

    /// <summary>NormalizeImages' training pass over 128 rows of 128 px floats (cursor with a Random, every row read).</summary>
    [Benchmark]
    public void NormalizeTrainingPass128Rows()
    {
        var column = _normalizedView!.Schema["Pixels"];
        using var cursor = _normalizedView.GetRowCursor([column], new Random(0));
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        while (cursor.MoveNext()) getter(ref value);
    }

    private sealed class PixelRow
    {
        [VectorType(3, Size, Size)] public float[] Pixels { get; set; } = [];
    }
}
