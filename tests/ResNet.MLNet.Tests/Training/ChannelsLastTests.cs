using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class ChannelsLastTests
{
    private static ResNetTrainer.Options Options(bool? channelsLast) => SquaresData.TrainerOptions(channelsLast: channelsLast, seed: 5);

    [Fact]
    public void HelperGivesNhwcStridesAndTheSameValues()
    {
        NativeMemoryTuning.Apply();
        using var x = randn(2, 3, 4, 5);
        Assert.False(MemoryFormat.IsChannelsLast(x));
        using var y = MemoryFormat.ToChannelsLast(x);
        Assert.Equal(x.shape, y.shape);
        Assert.Equal(new long[] { 60, 1, 15, 3 }, y.stride());
        Assert.True(MemoryFormat.IsChannelsLast(y));
        Assert.False(y.is_contiguous());
        Assert.True(x.eq(y).all().item<bool>());

        Assert.Same(y, MemoryFormat.ToChannelsLast(y));
        using var flat = randn(3, 4, 5);
        Assert.Same(flat, MemoryFormat.ToChannelsLast(flat));
        using var oneImage = randn(1, 3, 4, 5).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        Assert.True(MemoryFormat.IsChannelsLast(oneImage));
    }

    [Fact]
    public void AutomaticSettingTriesBothLayoutsOnTheCpuOnly()
    {
        using var model = Architectures.SimpleCnn.Create(3);
        Assert.Equal(new[] { false, true }, MemoryFormat.Layouts(null, CPU, model));
        Assert.Equal(new[] { true }, MemoryFormat.Layouts(true, CPU, model));
        Assert.Equal(new[] { false }, MemoryFormat.Layouts(false, CPU, model));
        Assert.Equal(new[] { false }, MemoryFormat.Layouts(null, new Device(DeviceType.CUDA, 0), model));
        Assert.Equal(new[] { true }, MemoryFormat.Layouts(true, new Device(DeviceType.CUDA, 0), model));
    }

    [Fact]
    public void TheStepTrialKeepsTheFastestRecordsItAndLaterRunsReuseTheRecord()
    {
        NativeMemoryTuning.Apply();
        using var folder = new TempFolder();
        var records = new StepTrialRecords(Path.Combine(folder.Path, "trials", "step-trials.json"));
        StepSettings[] candidates = [new(false, null), new(true, null)];
        var log = new StringWriter();
        var chosen = StepTrial.Choose(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU, log, records, default);
        Assert.Contains(chosen, candidates);
        Assert.Contains("fastest in a trial", log.ToString());
        Assert.Contains("NCHW fp32", log.ToString());
        Assert.Contains("channels-last fp32", log.ToString());
        Assert.True(File.Exists(records.Path));
        Assert.Equal(chosen, records.Find(StepTrial.Key(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU)));

        // A recorded decision is reused without timing, whatever a trial would say now.
        var other = chosen with { ChannelsLast = !chosen.ChannelsLast };
        records.Save(StepTrial.Key(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU), other);
        var again = new StringWriter();
        Assert.Equal(other, StepTrial.Choose(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU, again, records, default));
        Assert.Contains("the trial recorded in", again.ToString());
        Assert.DoesNotContain("fastest in a trial", again.ToString());

        // Another batch shape is another decision; a single candidate needs no trial and writes nothing.
        Assert.Null(records.Find(StepTrial.Key(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 16, CPU)));
        var single = new StringWriter();
        Assert.Equal(candidates[1], StepTrial.Choose([candidates[1]], Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU, single, records, default));
        Assert.Equal("", single.ToString());

        // An unreadable records file is no error: the trial runs again and rewrites it.
        File.WriteAllText(records.Path, "{ not json");
        var rewritten = new StringWriter();
        StepTrial.Choose(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU, rewritten, records, default);
        Assert.Contains("fastest in a trial", rewritten.ToString());
        Assert.NotNull(records.Find(StepTrial.Key(candidates, Architectures.SimpleCnn, 3, [3, 32, 32], 8, CPU)));
    }

    [Fact]
    public void TheSameSeedRepeatsAnAutomaticLayoutRunExactly()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 24, perClassValid: 4);
        using var folder = new TempFolder();
        var records = new StepTrialRecords(Path.Combine(folder.Path, "step-trials.json"));
        (List<double> Losses, IReadOnlyList<EpochMetrics> History) Fit()
        {
            var losses = new List<double>();
            var o = Options(null);
            o.Epochs = 2;
            o.StepTrialRecords = records;
            o.AfterBatch = (_, _, loss) => losses.Add(loss);
            using var model = new ResNetTrainer(o).Fit(data);
            return (losses, model.History);
        }
        var first = Fit();
        var second = Fit();
        Assert.True(first.Losses.Count >= 2 * 10, $"{first.Losses.Count} steps");
        Assert.Equal(first.Losses, second.Losses);
        Assert.Equal(first.History.Select(m => (m.TrainLoss, m.ValidLoss, m.Accuracy)), second.History.Select(m => (m.TrainLoss, m.ValidLoss, m.Accuracy)));
    }

    [Fact]
    public void NetworksWithWide1x1ConvolutionsStayNchwOnTheCpu()
    {
        int threads = get_num_threads();
        try
        {
            set_num_threads(2);
            using var wide = nn.Sequential(("stem", nn.Conv2d(3, 1024, 3)), ("reduce", nn.Conv2d(1024, 512, 1)));
            Assert.Equal("1×1 convolution 'reduce' (1024 → 512 channels) crashes libtorch 2.10's oneDNN (SIGFPE) on channels-last input with more than one thread",
                MemoryFormat.UnsafeConvolution(wide, multiThreaded: true));
            Assert.Null(MemoryFormat.UnsafeConvolution(wide, multiThreaded: false));
            Assert.Equal(new[] { false }, MemoryFormat.Layouts(null, CPU, wide));
            var error = Assert.Throws<ArgumentException>(() => MemoryFormat.Layouts(true, CPU, wide));
            Assert.Contains("'reduce' (1024 → 512 channels)", error.Message);
            Assert.Contains("ChannelsLast", error.Message);
            using var square = nn.Sequential(("same", nn.Conv2d(1024, 1024, 1)), ("narrow", nn.Conv2d(1024, 512, 3)));
            Assert.Null(MemoryFormat.UnsafeConvolution(square, multiThreaded: true));
            using var resnet50 = Architectures.ResNet50Chapter.Create(10);
            Assert.NotNull(MemoryFormat.UnsafeConvolution(resnet50, multiThreaded: true));
            using var resnet34 = Architectures.ResNet34Chapter.Create(10);
            Assert.Null(MemoryFormat.UnsafeConvolution(resnet34, multiThreaded: true));
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void StridedPointwiseConvolutionsWithWideOutputsStayNchwBecauseOneDnnGetsThemWrong()
    {
        // The fact behind the rule: channels-last input changes this convolution's output by about its own size.
        manual_seed(2);
        using var shortcut = nn.Conv2d(256, 512, 1, stride: 2, bias: false);
        using var x = randn(8, 256, 8, 8);
        using (no_grad())
        using (var nchw = shortcut.forward(x))
        using (var channelsLast = shortcut.forward(MemoryFormat.ToChannelsLast(x)))
        using (var difference = (nchw - channelsLast).abs().max())
            Assert.True(difference.item<float>() > 0.1, $"libtorch now computes it channels-last (difference {difference.item<float>():E2}): the rule can be narrowed");

        foreach (var architecture in new[] { Architectures.ImageNetResNet18, Architectures.TorchVisionResNet18, Architectures.TorchVisionResNet34 })
        {
            using var network = architecture.Create(10);
            Assert.Contains("computes wrong values", MemoryFormat.UnsafeConvolution(network, multiThreaded: false));
            Assert.Equal(new[] { false }, MemoryFormat.Layouts(null, CPU, network));
        }
        using var chapter = Architectures.ResNet18Chapter.Create(10);
        Assert.Null(MemoryFormat.UnsafeConvolution(chapter, multiThreaded: true));
    }

    [Fact]
    public void TrainingStepsGiveTheSameLossesAndKeepParametersContiguous()
    {
        NativeMemoryTuning.Apply();
        manual_seed(11);
        using var x = randn(8, 3, 16, 16);
        using var labels = randint(0, 4, new long[] { 8 });
        double[] Steps(bool channelsLast)
        {
            manual_seed(2);
            using var model = Architectures.SimpleCnn.Create(4);
            model.train();
            using var learner = new Learner(model, CPU, 8, 0.01, null, TextWriter.Null, channelsLast);
            var batch = new ImageBatch(x, labels);
            var losses = Enumerable.Range(0, 3).Select(i => learner.TrainBatch(batch, 1e-2, 0.9)).ToArray();
            Assert.All(model.parameters(), p => Assert.True(p.is_contiguous()));
            return losses;
        }
        var standard = Steps(false);
        var nhwc = Steps(true);
        for (int i = 0; i < standard.Length; i++)
            Assert.True(Math.Abs(standard[i] - nhwc[i]) <= 1e-4 * Math.Abs(standard[i]), $"step {i}: {standard[i]} vs {nhwc[i]}");
        Assert.NotEqual(standard[0], standard[^1]);
    }

    [Fact]
    public void OptionReachesTheLearnerTheRangeTestAndTheTransformer()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        // Automatic: the recorded trial decides (here written beforehand, so no timing is involved).
        using var folder = new TempFolder();
        var records = new StepTrialRecords(Path.Combine(folder.Path, "step-trials.json"));
        StepSettings[] layouts = [new(false, null), new(true, null)];
        string key = StepTrial.Key(layouts, Architectures.SimpleCnn, SquaresData.Classes.Length, [3, SquaresData.Size, SquaresData.Size], 8, CPU);
        foreach (var (option, recorded, expected) in new (bool?, bool, bool)[] { (null, true, true), (null, false, false), (true, false, true), (false, true, false) })
        {
            records.Save(key, new StepSettings(recorded, null));
            var o = Options(option);
            o.StepTrialRecords = records;
            using (var run = ResNetTrainer.PrepareFit(o, data))
                Assert.Equal(expected, run.Learner.ChannelsLast);
            using (var run = ResNetTrainer.PrepareRangeTest(o, data))
                Assert.Equal(expected, run.Learner.ChannelsLast);
        }

        (List<double> Losses, double ValidLoss, float[] Scores, List<Forward> Seen) Fit(bool channelsLast)
        {
            var losses = new List<double>();
            var seen = new List<Forward>();
            var o = Options(channelsLast);
            o.Architecture = new Architecture("Probe", c => new LayoutProbe(Architectures.SimpleCnn.Create(c), seen));
            o.AfterBatch = (_, _, loss) => losses.Add(loss);
            using var model = new ResNetTrainer(o).Fit(data);
            Assert.Equal(channelsLast, model.ChannelsLast);
            Assert.Equal(o.BatchSize, model.ScoringBatchSize);   // scoring batches default to the training batch size
            model.ScoringBatchSize = 24;                          // all rows in one batch, told apart from validation's
            var scores = ml.Data.CreateEnumerable<Scored>(model.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
            ml.Model.CreatePredictionEngine<SquaresData.Row, Scored>(model).Predict(SquaresData.Rows(1, 0)[0]);
            return (losses, model.History[0].ValidLoss!.Value, scores, seen);
        }
        var standard = Fit(false);
        var nhwc = Fit(true);

        // Training (8 rows), validation (8 rows) and batch scoring (24 rows) see NHWC batches; the model check at
        // construction stays NCHW, and on the CPU PredictionEngine's single rows run the stock ONNX chain instead.
        Assert.All(standard.Seen, f => Assert.False(f.ChannelsLast));
        Assert.Contains(nhwc.Seen, f => f.Training && f.Rows == 8);
        Assert.Contains(nhwc.Seen, f => !f.Training && f.Rows == 8);
        Assert.Contains(nhwc.Seen, f => !f.Training && f.Rows == 24);
        Assert.All(nhwc.Seen, f => Assert.Equal(f.Rows > 1, f.ChannelsLast));
        Assert.Equal(1, nhwc.Seen.Count(f => f.Rows == 1));

        Assert.Equal(standard.Losses.Count, nhwc.Losses.Count);
        for (int i = 0; i < standard.Losses.Count; i++)
            Assert.Equal(standard.Losses[i], nhwc.Losses[i], 1e-4 * standard.Losses[i]);
        Assert.Equal(standard.ValidLoss, nhwc.ValidLoss, 1e-4 * standard.ValidLoss);
        Assert.Equal(standard.Scores.Length, nhwc.Scores.Length);
        for (int i = 0; i < standard.Scores.Length; i++)
            Assert.Equal(standard.Scores[i], nhwc.Scores[i], 1e-4f);
    }

    [Fact]
    public void Bf16CopyTrainsOnChannelsLastBatches()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        List<double> Fit(bool channelsLast)
        {
            var losses = new List<double>();
            var o = Options(channelsLast);
            o.MixedPrecision = true;
            o.CpuHalfPrecision = ScalarType.BFloat16;
            o.AfterBatch = (_, _, loss) => losses.Add(loss);
            using var model = new ResNetTrainer(o).Fit(data);
            Assert.True(double.IsFinite(model.History[0].ValidLoss!.Value));
            return losses;
        }
        var standard = Fit(false);
        var nhwc = Fit(true);
        Assert.Equal(standard.Count, nhwc.Count);
        Assert.All(nhwc, l => Assert.True(double.IsFinite(l)));
        // bf16 rounds differently in the NHWC kernels; the first step (same weights, same batch) still agrees closely.
        Assert.Equal(standard[0], nhwc[0], 2e-2 * standard[0]);
    }

    private sealed class Scored
    {
        public float[] Score { get; set; } = [];
    }

    private sealed record Forward(bool Training, long Rows, bool ChannelsLast);

    /// <summary>Wraps a network and records the layout of every batch it is given; exports as the network.</summary>
    private sealed class LayoutProbe : nn.Module<Tensor, Tensor>, IOnnxExportable
    {
        private readonly nn.Module<Tensor, Tensor> inner;
        private readonly List<Forward> _seen;

        public LayoutProbe(nn.Module<Tensor, Tensor> network, List<Forward> seen) : base("LayoutProbe")
        {
            inner = network;
            _seen = seen;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            _seen.Add(new Forward(training, x.shape[0], MemoryFormat.IsChannelsLast(x)));
            return inner.forward(x);
        }

        OnnxValue IOnnxExportable.WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path) =>
            context.Write(inner, input, path + ".inner");
    }
}
