using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Training;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Training;

public class ResNetTrainerTests(ITestOutputHelper output)
{
    private static ResNetTrainer.Options Options(StringWriter log, int epochs = 2) => new()
    {
        FeatureColumnName = "Pixels",
        ValidationColumnName = "IsValid",
        Architecture = Architectures.SimpleCnn,
        Epochs = epochs,
        MaxLearningRate = 1e-2f,
        BatchSize = 16,
        Device = "cpu",
        Seed = 7,
        Log = log,
    };

    [Fact]
    public void TrainsToHighValidationAccuracyAndEvaluateAgreesWithTheLastEpoch()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml);
        var log = new StringWriter();
        var reported = new List<EpochMetrics>();
        var options = Options(log, epochs: 3);
        options.MetricsCallback = reported.Add;
        var model = ml.MulticlassClassification.Trainers.ResNet(options).Fit(data);

        Assert.Equal(3, model.History.Count);
        Assert.Equal(model.History, reported);
        double lastAccuracy = model.History[^1].Accuracy!.Value;
        Assert.True(lastAccuracy >= 0.9, $"validation accuracy {lastAccuracy}\n{log}");

        var valid = ml.Data.FilterByCustomPredicate<SquaresFlag>(data, r => !r.IsValid);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(valid));
        Assert.Equal(lastAccuracy, metrics.MicroAccuracy, 6);
        Assert.Equal(model.History[^1].ValidLoss!.Value, metrics.LogLoss, 3);

        string text = log.ToString();
        output.WriteLine(text);
        Assert.Contains("epoch     train_loss  valid_loss  accuracy  time", text);
        Assert.Equal(4, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Length > 0 && !l.StartsWith("note", StringComparison.Ordinal)));
    }

    [Fact]
    public void SameSeedGivesTheSameLosses()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        double[] Run()
        {
            var losses = new List<double>();
            var o = Options(new StringWriter(), epochs: 1);
            o.AfterBatch = (_, _, loss) => losses.Add(loss);
            using var model = new ResNetTrainer(o).Fit(data);
            losses.Add(model.History[0].ValidLoss!.Value);
            return losses.ToArray();
        }
        var first = Run();
        Assert.Equal(first, Run());
        Assert.True(first.Length > 4);
    }

    [Fact]
    public void CancellationStopsWithinOneBatch()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        using var cts = new CancellationTokenSource();
        int batches = 0;
        var o = Options(new StringWriter(), epochs: 2);
        o.CancellationToken = cts.Token;
        o.AfterBatch = (_, b, _) => { batches++; if (b == 1) cts.Cancel(); };
        Assert.ThrowsAny<OperationCanceledException>(() => new ResNetTrainer(o).Fit(data));
        Assert.Equal(2, batches);
    }

    [Fact]
    public void NanLossStopsWithTheEpochAndBatch()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        var o = Options(new StringWriter(), epochs: 1);
        o.Architecture = new Architecture("NanNet", c =>
        {
            var net = TorchSharp.torch.nn.Sequential(TorchSharp.torch.nn.Flatten(), TorchSharp.torch.nn.Linear(3 * 16 * 16, c));
            using (TorchSharp.torch.no_grad()) net.parameters().First().fill_(double.NaN);
            return net;
        }, defaultImageSize: 32);
        var ex = Assert.Throws<TrainingDivergedException>(() => new ResNetTrainer(o).Fit(data));
        Assert.Equal(0, ex.Epoch);
        Assert.Equal(0, ex.Batch);
        Assert.Contains("epoch 0, batch 0", ex.Message);
    }

    [Fact]
    public void ResumingFromACheckpointReproducesTheUninterruptedRun()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        string dir = Path.Combine(Path.GetTempPath(), "resnet-mlnet-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var straight = new ResNetTrainer(Options(new StringWriter(), epochs: 2)).Fit(data);

            using var cts = new CancellationTokenSource();
            var first = Options(new StringWriter(), epochs: 2);
            first.CheckpointDirectory = dir;
            first.CancellationToken = cts.Token;
            first.MetricsCallback = _ => cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => new ResNetTrainer(first).Fit(data));
            Assert.True(File.Exists(Path.Combine(dir, TrainingCheckpoint.FileName)));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

            var log = new StringWriter();
            var resumed = Options(log, epochs: 2);
            resumed.CheckpointDirectory = dir;
            resumed.Resume = true;
            using var model = new ResNetTrainer(resumed).Fit(data);
            Assert.Contains("Resuming", log.ToString());
            Assert.Equal(2, model.History.Count);
            Assert.Equal(straight.History[1].TrainLoss, model.History[1].TrainLoss, 5);
            Assert.Equal(straight.History[1].ValidLoss!.Value, model.History[1].ValidLoss!.Value, 5);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ResumingWithoutACheckpointIsAnError()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 1);
        var options = Options(new StringWriter(), epochs: 1);
        options.CheckpointDirectory = Path.Combine(Path.GetTempPath(), "resnet-mlnet-no-such-run-" + Guid.NewGuid().ToString("N"));
        options.Resume = true;

        var error = Assert.Throws<FileNotFoundException>(() => new ResNetTrainer(options).Fit(data));

        Assert.Contains($"no checkpoint at '{Path.Combine(options.CheckpointDirectory, TrainingCheckpoint.FileName)}'", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.CheckpointDirectory));
    }

    [Fact]
    public void PredictionEngineAgreesWithTransform()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 16, perClassValid: 4);
        using var model = new ResNetTrainer(Options(new StringWriter(), epochs: 1)).Fit(data);
        var chain = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(SquaresData.Rows(1, 0)))
            .Append(model);
        var rows = SquaresData.Rows(2, 0, seed: 5);
        var engine = ml.Model.CreatePredictionEngine<SquaresData.Row, Prediction>(chain);
        var batch = ml.Data.CreateEnumerable<Prediction>(chain.Transform(ml.Data.LoadFromEnumerable(rows)), reuseRowObject: false).ToArray();
        Assert.Equal(rows.Length, batch.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            var p = engine.Predict(rows[i]);
            Assert.Equal(batch[i].PredictedLabel, p.PredictedLabel);
            Assert.Equal(batch[i].Score, p.Score, (a, b) => Math.Abs(a - b) < 1e-5);
            Assert.Equal(1f, p.Score.Sum(), 4);
        }
        var names = default(Microsoft.ML.Data.VBuffer<ReadOnlyMemory<char>>);
        chain.Transform(ml.Data.LoadFromEnumerable(rows)).Schema["Score"].Annotations.GetValue("SlotNames", ref names);
        Assert.Equal(SquaresData.Classes, names.DenseValues().Select(n => n.ToString()));
    }

    [Fact]
    public void BadColumnsGetErrorsNamingTheOption()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 2, perClassValid: 1);
        var o = Options(new StringWriter());
        o.FeatureColumnName = "Nope";
        Assert.Contains("FeatureColumnName", Assert.Throws<ArgumentException>(() => new ResNetTrainer(o).Fit(data)).Message);
        o = Options(new StringWriter());
        o.LabelColumnName = "IsValid";
        Assert.Contains("key type", Assert.Throws<ArgumentException>(() => new ResNetTrainer(o).Fit(data)).Message);
        o = Options(new StringWriter());
        o.ValidationColumnName = "Label";
        Assert.Contains("Boolean", Assert.Throws<ArgumentException>(() => new ResNetTrainer(o).Fit(data)).Message);
        o = Options(new StringWriter());
        o.FeatureColumnName = "Label";
        Assert.Contains("Vector<Single, 3, H, W>", Assert.Throws<ArgumentException>(() => new ResNetTrainer(o).Fit(data)).Message);
        Assert.Throws<ArgumentException>(() => new ResNetTrainer(new ResNetTrainer.Options { Device = "tpu" }));
    }

    [Fact]
    public void ValidationSetAndMetricsCallbackWorkAndNoValidationPrintsNone()
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4);
        var train = ml.Data.FilterByCustomPredicate<SquaresFlag>(data, r => r.IsValid);
        var valid = ml.Data.FilterByCustomPredicate<SquaresFlag>(data, r => !r.IsValid);
        var o = Options(new StringWriter(), epochs: 1);
        o.ValidationColumnName = null;
        o.ValidationSet = valid;
        var reported = new List<EpochMetrics>();
        o.MetricsCallback = reported.Add;
        using var model = new ResNetTrainer(o).Fit(train);
        Assert.Single(reported);
        Assert.NotNull(reported[0].Accuracy);

        var log = new StringWriter();
        o = Options(log, epochs: 1);
        o.ValidationColumnName = null;
        using var unvalidated = new ResNetTrainer(o).Fit(train);
        Assert.Null(unvalidated.History[0].ValidLoss);
        Assert.Matches(@"\n0 +\d\.\d{6} +None +None +\d\d:\d\d", log.ToString().Replace("\r", ""));
    }

    private sealed class Prediction
    {
        public uint PredictedLabel { get; set; }
        public float[] Score { get; set; } = [];
    }

    private sealed class SquaresFlag
    {
        public bool IsValid { get; set; }
    }
}
