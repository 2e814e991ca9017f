using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;

namespace ResNet.MLNet.Tests.Transforms;

public class BatchedDataViewTests
{
    private sealed class Row
    {
        public float X { get; set; }
        public string Name { get; set; } = "";
        public bool Flag { get; set; }
        [VectorType(3)] public float[] Vec { get; set; } = [];
        [VectorType(2)] public byte[] Bytes { get; set; } = [];
    }

    private static IDataView MakeData(MLContext ml, int n)
    {
        var rows = Enumerable.Range(0, n).Select(i => new Row
        {
            X = i,
            Name = $"row{i}",
            Flag = i % 2 == 0,
            Vec = [i, i + 0.5f, -i],
            Bytes = [(byte)i, (byte)(255 - i)],
        });
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Conversion.MapValueToKey("Key", "Name").Fit(data).Transform(data);
    }

    private static BatchedDataView Doubler(IDataView input, List<(int Count, bool Training)> calls, int batchSize) =>
        new(input,
            [new BatchOutputColumn("Twice", NumberDataViewType.Single),
             new BatchOutputColumn("Vec", new VectorDataViewType(NumberDataViewType.Single, 3))],
            ["X", "Vec"],
            batch =>
            {
                calls.Add((batch.Count, batch.IsTraining));
                var x = batch.Input<float>("X");
                var v = batch.Input<VBuffer<float>>("Vec");
                var twice = batch.Output<float>("Twice");
                var negated = batch.Output<VBuffer<float>>("Vec");
                for (int i = 0; i < batch.Count; i++)
                {
                    twice[i] = 2 * x[i];
                    var editor = VBufferEditor.Create(ref negated[i], 3);
                    var values = v[i].GetValues();
                    for (int j = 0; j < 3; j++) editor.Values[j] = -values[j];
                    negated[i] = editor.Commit();
                }
            },
            batchSize);

    [Fact]
    public void ComputesOutputsPerBatchAndServesEveryInputColumnType()
    {
        var ml = new MLContext(seed: 1);
        var calls = new List<(int, bool)>();
        var view = Doubler(MakeData(ml, 10), calls, batchSize: 4);

        Assert.Equal(view.Input.GetRowCount(), view.GetRowCount());
        var twice = view.GetColumn<float>("Twice").ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2f * i), twice);
        Assert.Equal([(4, false), (4, false), (2, false)], calls);

        var names = view.GetColumn<string>("Name").ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"row{i}"), names);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i % 2 == 0), view.GetColumn<bool>("Flag"));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (uint)i), view.GetColumn<uint>("Key"));
        var bytes = view.GetColumn<byte[]>("Bytes").ToArray();
        Assert.Equal([(byte)7, (byte)248], bytes[7]);
        // The output "Vec" hides the input "Vec".
        var vec = view.GetColumn<float[]>("Vec").ToArray();
        Assert.Equal([-3f, -3.5f, 3f], vec[3]);
        Assert.True(view.Schema["Vec"].Index >= view.Input.Schema.Count);
    }

    [Fact]
    public void SkipsTheComputationWhenNoOutputIsRequested()
    {
        var ml = new MLContext(seed: 1);
        var calls = new List<(int, bool)>();
        var view = Doubler(MakeData(ml, 5), calls, batchSize: 2);
        Assert.Equal(5, view.GetColumn<string>("Name").Count());
        Assert.Empty(calls);
    }

    [Fact]
    public void PassesTheTrainingRandomToTheInputAndTheBatch()
    {
        var ml = new MLContext(seed: 1);
        var cached = ml.Data.Cache(MakeData(ml, 50));
        var calls = new List<(int Count, bool Training)>();
        var view = Doubler(cached, calls, batchSize: 16);
        Assert.True(view.CanShuffle);
        Assert.False(Doubler(new NoShuffleView(MakeData(ml, 3)), calls, 2).CanShuffle);

        List<float> Read(Random? rand)
        {
            var result = new List<float>();
            using var cursor = view.GetRowCursor(view.Schema.Where(c => c.Name is "X" or "Twice"), rand);
            var x = cursor.GetGetter<float>(view.Schema["X"]);
            var twice = cursor.GetGetter<float>(view.Schema["Twice"]);
            float a = 0, b = 0;
            while (cursor.MoveNext())
            {
                x(ref a);
                twice(ref b);
                Assert.Equal(2 * a, b);
                result.Add(a);
            }

            return result;
        }

        var ordered = Read(null);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (float)i), ordered);
        Assert.All(calls, c => Assert.False(c.Training));

        calls.Clear();
        var epoch1 = Read(new Random(7));
        Assert.All(calls, c => Assert.True(c.Training));
        var epoch1Again = Read(new Random(7));
        var epoch2 = Read(new Random(8));
        Assert.NotEqual(ordered, epoch1);
        Assert.Equal(epoch1, epoch1Again);
        Assert.NotEqual(epoch1, epoch2);
        Assert.Equal(ordered, epoch1.Order());
    }

    [Fact]
    public void BatchRandomIsReproducibleFromTheCursorRandom()
    {
        var ml = new MLContext(seed: 1);
        var view = new BatchedDataView(ml.Data.Cache(MakeData(ml, 6)), [new BatchOutputColumn("R", NumberDataViewType.Double)], [],
            batch =>
            {
                var r = batch.Output<double>("R");
                for (int i = 0; i < batch.Count; i++) r[i] = batch.Random?.NextDouble() ?? -1;
            }, batchSize: 4);

        double[] Read(Random? rand)
        {
            using var cursor = view.GetRowCursor([view.Schema["R"]], rand);
            var getter = cursor.GetGetter<double>(view.Schema["R"]);
            var values = new List<double>();
            double v = 0;
            while (cursor.MoveNext())
            {
                getter(ref v);
                values.Add(v);
            }

            return values.ToArray();
        }

        Assert.All(Read(null), v => Assert.Equal(-1, v));

        Assert.Equal(Read(new Random(3)), Read(new Random(3)));
        Assert.NotEqual(Read(new Random(3)), Read(new Random(4)));
    }

    [Fact]
    public void ConsecutiveSeedsGiveUnrelatedBatchDraws()
    {
        // Seeds 1..8 (e.g. epochs) after k draws by the source: new Random(rand.Next()) would give identical first
        // values for k = 2; the derived generator spreads them.
        for (int k = 0; k < 12; k++)
        {
            var firsts = Enumerable.Range(1, 8).Select(seed =>
            {
                var rand = new Random(seed);
                for (int i = 0; i < k; i++) rand.Next();
                return BatchedDataView.DeriveRandom(rand).NextDouble();
            }).Order().ToArray();
            Assert.True(firsts[^1] - firsts[0] > 0.3, $"k = {k}: first draws are clustered: {string.Join(", ", firsts)}");
        }
    }

    [Fact]
    public void RejectsBadArgumentsAndMisuse()
    {
        var ml = new MLContext(seed: 1);
        var data = MakeData(ml, 3);
        BatchComputation noop = _ => { };
        var column = new BatchOutputColumn("Y", NumberDataViewType.Single);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchedDataView(data, [column], [], noop, 0));
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchedDataView(data, [column], ["Nope"], noop, 2));
        Assert.Contains("Nope", missing.Message);

        var view = new BatchedDataView(data, [column], ["X"], batch => batch.Input<double>("X"), 2);
        using var cursor = view.GetRowCursor([view.Schema["Y"]]);
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(view.Schema["Name"]));
        var y = cursor.GetGetter<float>(view.Schema["Y"]);
        float value = 0;
        Assert.Throws<InvalidOperationException>(() => y(ref value));
        var wrongType = Assert.Throws<InvalidOperationException>(() => cursor.MoveNext());
        Assert.Contains("'X'", wrongType.Message);
    }

    /// <summary>A pass-through view that cannot shuffle.</summary>
    private sealed class NoShuffleView(IDataView inner) : IDataView
    {
        public bool CanShuffle => false;
        public DataViewSchema Schema => inner.Schema;
        public long? GetRowCount() => inner.GetRowCount();
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            inner.GetRowCursor(columnsNeeded, null);
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            inner.GetRowCursorSet(columnsNeeded, n, null);
    }
}
