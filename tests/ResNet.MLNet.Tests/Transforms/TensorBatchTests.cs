using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms.Batching;
using ResNet.MLNet.Transforms;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Transforms;

/// <summary>Training passes hand images from one batched transform to the next, and to the trainer, as batch tensors.</summary>
public class TensorBatchTests
{
    public TensorBatchTests() => NativeMemoryTuning.Apply();

    private sealed class VecRow
    {
        [VectorType(3)] public float[] Vec { get; set; } = [];
    }

    private static IDataView Vectors(MLContext ml, int n) =>
        ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new VecRow { Vec = [i, i + 0.5f, -i] }));

    private static BatchedDataView TensorMap(IDataView input, string from, string to, Func<Tensor, Tensor> map, int batchSize, List<int> calls) =>
        new(input, [new BatchOutputColumn(to, new VectorDataViewType(NumberDataViewType.Single, 3), IsTensor: true)], [],
            batch =>
            {
                calls.Add(batch.Count);
                using var scope = NewDisposeScope();
                batch.SetOutput(to, map(batch.InputTensor(from)));
            },
            batchSize, tensorDependencies: [from]);

    [Fact]
    public void ChainedTensorColumnsGiveTheRowValuesWhateverTheBatchSizes()
    {
        var ml = new MLContext(seed: 0);
        var first = new List<int>();
        var second = new List<int>();
        var doubled = TensorMap(Vectors(ml, 11), "Vec", "T", t => t * 2, batchSize: 4, first);
        var shifted = TensorMap(doubled, "T", "U", t => t + 1, batchSize: 3, second);

        foreach (var rand in new Random?[] { null, new Random(3) })
        {
            first.Clear();
            second.Clear();
            var column = shifted.Schema["U"];
            using var cursor = shifted.GetRowCursor([column], rand);
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            var value = default(VBuffer<float>);
            var tensors = Assert.IsAssignableFrom<ITensorBatchCursor>(cursor);
            for (int i = 0; i < 11; i++)
            {
                Assert.True(cursor.MoveNext());
                getter(ref value);
                Assert.Equal([2f * i + 1, 2f * i + 2, -2f * i + 1], value.DenseValues().ToArray());
                Assert.True(tensors.TryGetBatchTensor(column, out var batch, out int row));
                Assert.Equal(i % 3, row);
                Assert.Equal(2f * i + 1, batch[row, 0].item<float>());
            }

            Assert.False(cursor.MoveNext());
            Assert.Equal([4, 4, 3], first);
            Assert.Equal([3, 3, 3, 2], second);
        }
    }

    private sealed class FlaggedRow
    {
        [VectorType(3)] public float[] Vec { get; set; } = [];
        public bool IsValid { get; set; }
    }

    [Fact]
    public void AReadersPromiseLimitsTheComputationToItsRows()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 11).Select(i => new FlaggedRow { Vec = [i, i + 0.5f, -i], IsValid = i % 3 == 1 }));
        var first = new List<int>();
        var second = new List<int>();
        var shifted = TensorMap(TensorMap(data, "Vec", "T", t => t * 2, batchSize: 4, first), "T", "U", t => t + 1, batchSize: 3, second);
        var u = shifted.Schema["U"];
        var isValid = shifted.Schema["IsValid"];
        using var cursor = shifted.GetRowCursor([u, isValid], new Random(3));
        var tensors = Assert.IsAssignableFrom<ITensorBatchCursor>(cursor);
        tensors.ReadOnlyWhere(isValid, false);
        var getter = cursor.GetGetter<VBuffer<float>>(u);
        var flag = cursor.GetGetter<bool>(isValid);
        var (value, valid) = (default(VBuffer<float>), false);
        for (int i = 0; i < 11; i++)
        {
            Assert.True(cursor.MoveNext());
            flag(ref valid);
            Assert.Equal(i % 3 == 1, valid);
            if (valid)
            {
                Assert.False(tensors.TryGetBatchTensor(u, out _, out _));
                Assert.Throws<InvalidOperationException>(() => getter(ref value));
                continue;
            }
            getter(ref value);
            Assert.Equal([2f * i + 1, 2f * i + 2, -2f * i + 1], value.DenseValues().ToArray());
        }

        // Rows 1, 4, 7, 10 are validation rows: the first view computes 3, 2, 2 rows of its batches of 4, 4, 3.
        Assert.Equal([3, 2, 2], first);
        Assert.Equal([2, 2, 2, 1], second);
        Assert.Throws<InvalidOperationException>(() => tensors.ReadOnlyWhere(isValid, true));
    }

    [Fact]
    public void TensorRowsAreAViewForConsecutiveRowsAndSurviveTheirSource()
    {
        using var rows = new TensorRows();
        var a = arange(12, ScalarType.Float32).reshape(4, 3);
        rows.Add(a, 1);
        rows.Add(a, 2);
        using (var view = rows.Build())
        {
            a[1, 0] = 100f;
            Assert.Equal(100f, view[0, 0].item<float>());
            Assert.Equal([100f, 4, 5, 6, 7, 8], view.data<float>().ToArray());
        }

        rows.Clear();
        var b = arange(12, 24, ScalarType.Float32).reshape(4, 3);
        rows.Add(a, 3);
        rows.Add(b, 0);
        rows.Add(b, 2);
        a.Dispose();
        b.Dispose();
        using var gathered = rows.Build();
        Assert.Equal([9f, 10, 11, 12, 13, 14, 18, 19, 20], gathered.data<float>().ToArray());
        var copy = new float[3];
        rows.CopyRow<float>(2, copy);
        Assert.Equal([18f, 19, 20], copy);
        Assert.Throws<InvalidOperationException>(() => new TensorRows().Build());
    }

    private sealed class ImageRow
    {
        [VectorType(3, 8, 8)] public byte[] Pixels { get; set; } = [];
        public string Name { get; set; } = "";
        public bool IsValid { get; set; }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void TheTrainerReadsAugmentedNormalisedBatchesAsTensorsWithTheSameValuesAsRows(int prefetch)
    {
        var ml = new MLContext(seed: 0);
        var random = new Random(2);
        var rows = Enumerable.Range(0, 23).Select(i =>
        {
            var pixels = new byte[3 * 8 * 8];
            random.NextBytes(pixels);
            return new ImageRow { Pixels = pixels, Name = $"c{i % 3}", IsValid = i % 4 == 3 };
        }).ToArray();
        // A cache shuffles itself, so the reader takes rows straight from the cursor (no shuffle pool).
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        var view = ml.Transforms.Conversion.MapValueToKey("Label", "Name")
            .Append(ml.Transforms.AugmentImages("Pixels", new AugmentOptions { Size = 6, BatchSize = 8 }))
            .Append(ml.Transforms.NormalizeImages("Pixels"))
            .Fit(data).Transform(data);
        var train = TrainingData.Create(view, "Pixels", "Label", "IsValid", keepWhen: false, "training rows", "The test data");

        // Training and scoring cursors both serve the images as batch tensors (single rows take the saved ONNX chain).
        foreach (var rand in new[] { new Random(1), null })
        {
            using var cursor = view.GetRowCursor([view.Schema["Pixels"]], rand);
            Assert.True(cursor.MoveNext());
            Assert.True(cursor is ITensorBatchCursor t && t.TryGetBatchTensor(view.Schema["Pixels"], out _, out _));
        }

        var expected = new List<(float[] Pixels, long Label)>();
        using (var cursor = view.GetRowCursor([train.Features, train.Label, train.Split!.Value], new Random(7)))
        {
            var pixels = cursor.GetGetter<VBuffer<float>>(train.Features);
            var label = cursor.GetGetter<uint>(train.Label);
            var isValid = cursor.GetGetter<bool>(train.Split.Value);
            var (value, key, flag) = (default(VBuffer<float>), 0u, false);
            while (cursor.MoveNext())
            {
                isValid(ref flag);
                if (flag) continue;
                pixels(ref value);
                label(ref key);
                expected.Add((value.DenseValues().ToArray(), key - 1));
            }
        }

        var actual = new List<(float[] Pixels, long Label)>();
        using (var reader = new BatchReader(train, 5, new Random(7), dropLast: false, "training", CancellationToken.None, prefetch))
            foreach (var batch in reader.Batches())
                using (batch)
                {
                    Assert.Equal([batch.Count, 3, 6, 6], batch.Features.shape);
                    for (int i = 0; i < batch.Count; i++)
                        actual.Add((batch.Features[i].data<float>().ToArray(), batch.Labels[i].item<long>()));
                }

        Assert.Equal(18, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Label, actual[i].Label);
            Assert.Equal(expected[i].Pixels, actual[i].Pixels);
        }
    }
}
