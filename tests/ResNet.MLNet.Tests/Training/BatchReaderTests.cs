using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Training;

public class BatchReaderTests
{
    private sealed class Row
    {
        [VectorType(3, 2, 2)] public float[] Pixels { get; set; } = [];
        public string Name { get; set; } = "";
    }

    private static TrainingData Data(MLContext ml, int rows, int unknownAt)
    {
        var items = Enumerable.Range(0, rows).Select(i => new Row
        {
            Pixels = Enumerable.Range(0, 12).Select(j => i + j / 12f).ToArray(),
            Name = i == unknownAt ? "unseen" : $"c{i % 2}",
        }).ToArray();
        var known = ml.Data.LoadFromEnumerable(items.Where(r => r.Name != "unseen"));
        var view = ml.Transforms.Conversion.MapValueToKey("Label", "Name").Fit(known).Transform(ml.Data.LoadFromEnumerable(items));
        return TrainingData.Create(view, "Pixels", "Label", null, keepWhen: false, "training rows", "The test data");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void ReadsEveryRowInOrderInBatches(int prefetch)
    {
        var data = Data(new MLContext(seed: 0), rows: 7, unknownAt: -1);
        using var reader = new BatchReader(data, 3, random: null, dropLast: false, "validation", CancellationToken.None, prefetch);
        var batches = reader.Batches().ToList();
        Assert.Equal([3, 3, 1], batches.Select(b => b.Count));
        Assert.Equal([0f, 1, 2, 3, 4, 5, 6], batches.SelectMany(b => b.Features[.., 0, 0, 0].data<float>().ToArray()));
        Assert.Equal([0L, 1, 0, 1, 0, 1, 0], batches.SelectMany(b => b.Labels.data<long>().ToArray()));
        batches.ForEach(b => b.Dispose());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void AFailingRowNamesThePassTheDataAndTheRow(int prefetch)
    {
        var data = Data(new MLContext(seed: 0), rows: 8, unknownAt: 5);
        using var reader = new BatchReader(data, 2, random: null, dropLast: false, "validation", CancellationToken.None, prefetch);
        var taken = new List<ImageBatch>();
        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var batch in reader.Batches()) taken.Add(batch);
        });
        Assert.Contains("Reading validation batches from training rows failed near row 5", error.Message);
        Assert.Contains("label column 'Label' has a missing or unknown value", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Equal(2, taken.Count);
        taken.ForEach(b => b.Dispose());
    }

    [Fact]
    public void ReadsInlineOnTheCpuAndAheadOnAGpu()
    {
        Assert.Equal(0, BatchReader.DefaultPrefetch(TorchSharp.DeviceType.CPU));
        Assert.Equal(2, BatchReader.DefaultPrefetch(TorchSharp.DeviceType.CUDA));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new BatchReader(Data(new MLContext(seed: 0), 2, -1), 2, null, false, "training", CancellationToken.None, prefetch: -1));
    }
}
