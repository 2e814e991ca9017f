using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class ChannelsLastTests
{
    private static ResNetTrainer.Options Options(bool? channelsLast) => new()
    {
        FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
        Epochs = 1, BatchSize = 8, MaxLearningRate = 1e-2f, Device = "cpu", Seed = 5, Log = TextWriter.Null,
        ChannelsLast = channelsLast,
    };

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
    public void AutomaticSettingIsTunedOnTheCpuOnly()
    {
        using var model = Architectures.SimpleCnn.Create(3);
        Assert.True(MemoryFormat.Resolve(null, CPU, model, TextWriter.Null).IsTuning);
        var forced = MemoryFormat.Resolve(true, CPU, model, TextWriter.Null);
        Assert.False(forced.IsTuning);
        Assert.True(forced.ChannelsLast);
        Assert.False(MemoryFormat.Resolve(false, CPU, model, TextWriter.Null).ChannelsLast);
        var cuda = MemoryFormat.Resolve(null, new Device(DeviceType.CUDA, 0), model, TextWriter.Null);
        Assert.False(cuda.IsTuning || cuda.ChannelsLast);
        Assert.True(MemoryFormat.Resolve(true, new Device(DeviceType.CUDA, 0), model, TextWriter.Null).ChannelsLast);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheTunerAlternatesLayoutsThenKeepsTheFasterOne(bool channelsLastFaster)
    {
        var log = new StringWriter();
        var tuner = LayoutTuner.Tuning(log);
        var layouts = new List<bool>();
        for (int i = 0; i < LayoutTuner.TuningSteps; i++)
        {
            bool layout = tuner.NextStep();
            layouts.Add(layout);
            Assert.True(tuner.IsTuning);
            Assert.False(tuner.ChannelsLast);
            // The first two steps of each layout are slow warm-ups that must not decide; one spike must not either.
            bool spike = (i == 6 || i == 7) && layout == channelsLastFaster;
            double seconds = i < 4 ? 10 : spike ? 0.9 : layout == channelsLastFaster ? 0.03 : 0.05;
            tuner.Record(layout, seconds);
        }

        Assert.Equal(Enumerable.Range(0, LayoutTuner.TuningSteps).Select(i => i % 2 == 1), layouts);
        Assert.False(tuner.IsTuning);
        Assert.Equal(channelsLastFaster, tuner.ChannelsLast);
        Assert.Equal(channelsLastFaster, tuner.NextStep());
        Assert.Contains(channelsLastFaster ? "channels-last" : "NCHW", log.ToString());
        Assert.Equal(42, tuner.Step(cl => { Assert.Equal(channelsLastFaster, cl); return 42; }));
        Assert.True(LayoutTuner.Fixed(true).NextStep());
        Assert.False(LayoutTuner.Fixed(false).IsTuning);
    }

    [Fact]
    public void NetworksWithWide1x1ConvolutionsStayNchwOnTheCpu()
    {
        int threads = get_num_threads();
        try
        {
            set_num_threads(2);
            using var wide = nn.Sequential(("stem", nn.Conv2d(3, 1024, 3)), ("reduce", nn.Conv2d(1024, 512, 1)));
            Assert.Equal("1×1 convolution 'reduce' (1024 → 512 channels)", MemoryFormat.UnsafeConvolution(wide));
            var automatic = MemoryFormat.Resolve(null, CPU, wide, TextWriter.Null);
            Assert.False(automatic.IsTuning || automatic.ChannelsLast);
            var error = Assert.Throws<ArgumentException>(() => MemoryFormat.Resolve(true, CPU, wide, TextWriter.Null));
            Assert.Contains("'reduce' (1024 → 512 channels)", error.Message);
            Assert.Contains("ChannelsLast", error.Message);
            using var square = nn.Sequential(("same", nn.Conv2d(1024, 1024, 1)), ("narrow", nn.Conv2d(1024, 512, 3)));
            Assert.Null(MemoryFormat.UnsafeConvolution(square));
            using var resnet50 = Architectures.ResNet50Chapter.Create(10);
            Assert.NotNull(MemoryFormat.UnsafeConvolution(resnet50));
            using var resnet34 = Architectures.ResNet34Chapter.Create(10);
            Assert.Null(MemoryFormat.UnsafeConvolution(resnet34));
        }
        finally
        {
            set_num_threads(threads);
        }
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
            using var learner = new Learner(model, CPU, 8, 0.01, null, TextWriter.Null, progressBar: false, LayoutTuner.Fixed(channelsLast));
            var batch = new ImageBatch(x, labels);
            var losses = Enumerable.Range(0, 3).Select(i => learner.TrainBatch(batch, 1e-2, 0.9, 0, i)).ToArray();
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
        // The squares are tiny batches: the automatic setting leaves them NCHW (too small to gain).
        foreach (var (option, expected) in new (bool?, bool)[] { (null, false), (true, true), (false, false) })
        {
            using (var run = ResNetTrainer.Prepare(Options(option), data, forRangeTest: false))
                Assert.Equal(expected, run.Learner.ChannelsLast);
            using (var run = ResNetTrainer.Prepare(Options(option), data, forRangeTest: true))
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
            var scores = ml.Data.CreateEnumerable<Scored>(model.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
            ml.Model.CreatePredictionEngine<SquaresData.Row, Scored>(model).Predict(SquaresData.Rows(1, 0)[0]);
            return (losses, model.History[0].ValidLoss!.Value, scores, seen);
        }
        var standard = Fit(false);
        var nhwc = Fit(true);

        // Training (8 rows), validation (8 rows) and batch scoring (24 rows) see NHWC batches; the model check at
        // construction and PredictionEngine's single rows stay NCHW.
        Assert.All(standard.Seen, f => Assert.False(f.ChannelsLast));
        Assert.Contains(nhwc.Seen, f => f.Training && f.Rows == 8);
        Assert.Contains(nhwc.Seen, f => !f.Training && f.Rows == 8);
        Assert.Contains(nhwc.Seen, f => !f.Training && f.Rows == 24);
        Assert.All(nhwc.Seen, f => Assert.Equal(f.Rows > 1, f.ChannelsLast));
        Assert.Equal(2, nhwc.Seen.Count(f => f.Rows == 1));

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

    /// <summary>Wraps a network and records the layout of every batch it is given.</summary>
    private sealed class LayoutProbe : nn.Module<Tensor, Tensor>
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
    }
}
