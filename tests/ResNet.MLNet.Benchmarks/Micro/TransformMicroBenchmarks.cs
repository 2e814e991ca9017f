using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

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
    private VBuffer<byte>[] _bytes = [];
    private VBuffer<float>[] _floats = [];
    private IDataView? _normalizedView;
    private BatchAugmenter? _augmenter;
    private Random _random = new(0);

    [GlobalSetup]
    public void Setup()
    {
        TrainingDevice.InitialiseTorch();
        int length = 3 * Presize * Presize;
        _bytes = new VBuffer<byte>[Batch];
        for (int i = 0; i < Batch; i++)
        {
            var pixels = new byte[length];
            _random.NextBytes(pixels);
            _bytes[i] = new VBuffer<byte>(length, pixels);
        }
        _floats = new VBuffer<float>[Batch];
        var ml = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, Batch).Select(_ =>
            new PixelRow { Pixels = Enumerable.Range(0, 3 * Size * Size).Select(_ => _random.NextSingle()).ToArray() }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        _normalizedView = ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet).Fit(data).Transform(data);
        _augmenter = new BatchAugmenter(new AugmentOptions { MinScale = 0.5f, Size = Size }, Presize, Presize);
    }

    [GlobalCleanup]
    public void Cleanup() => _augmenter?.Dispose();

    /// <summary>One training batch of augmentation (stack, draw, grid_sample, lighting, copy out).</summary>
    [Benchmark]
    public void AugmentBatch128() => _augmenter!.Augment(_bytes, Batch, _random, _floats);

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
