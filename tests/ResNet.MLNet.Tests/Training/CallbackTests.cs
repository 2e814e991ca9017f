using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class CallbackTests
{
    public CallbackTests() => NativeMemoryTuning.Apply();

    private static ResNetTrainer.Options Options(int epochs = 1) => SquaresData.TrainerOptions(epochs);

    /// <summary>Records every event it sees, with the pass and batch.</summary>
    private sealed class EventLog : LearnerCallback
    {
        public List<string> Events { get; } = [];
        private void Add(string name, LearnerState s) => Events.Add(name);
        public override void BeforeFit(LearnerState s) => Add("before_fit", s);
        public override void BeforeEpoch(LearnerState s) => Add("before_epoch", s);
        public override void BeforeTrain(LearnerState s) => Add("before_train", s);
        public override void BeforeBatch(LearnerState s) => Add(s.Training ? "before_batch" : "before_batch(valid)", s);
        public override void AfterPred(LearnerState s) => Add(s.Training ? "after_pred" : "after_pred(valid)", s);
        public override void AfterLoss(LearnerState s) => Add(s.Training ? "after_loss" : "after_loss(valid)", s);
        public override void BeforeBackward(LearnerState s) => Add("before_backward", s);
        public override void AfterBackward(LearnerState s) => Add("after_backward", s);
        public override void BeforeStep(LearnerState s) => Add("before_step", s);
        public override void AfterStep(LearnerState s) => Add("after_step", s);
        public override void AfterBatch(LearnerState s) => Add(s.Training ? "after_batch" : "after_batch(valid)", s);
        public override void AfterTrain(LearnerState s) => Add("after_train", s);
        public override void BeforeValidate(LearnerState s) => Add("before_validate", s);
        public override void AfterValidate(LearnerState s) => Add("after_validate", s);
        public override void AfterEpoch(LearnerState s) => Add("after_epoch", s);
        public override void AfterFit(LearnerState s) => Add("after_fit", s);
        public override void AfterCancelBatch(LearnerState s) => Add("after_cancel_batch", s);
        public override void AfterCancelFit(LearnerState s) => Add("after_cancel_fit", s);
    }

    private sealed class SquaresFlag
    {
        public bool IsValid { get; set; }
    }

    [Fact]
    public void EventsFireInFastaisOrder()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);   // 16 training rows: 2 batches; 8 validation rows: 1
        var events = new EventLog();
        var o = Options();
        o.Callbacks.Add(events);
        using var model = new ResNetTrainer(o).Fit(data);

        string[] trainBatch = ["before_batch", "after_pred", "after_loss", "before_backward", "after_backward", "before_step", "after_step", "after_batch"];
        string[] validBatch = ["before_batch(valid)", "after_pred(valid)", "after_loss(valid)", "after_batch(valid)"];
        string[] expected =
        [
            "before_fit", "before_epoch", "before_train", .. trainBatch, .. trainBatch, "after_train",
            "before_validate", .. validBatch, "after_validate", "after_epoch", "after_fit",
        ];
        Assert.Equal(expected, events.Events);
    }

    /// <summary>Counts the batches it sees: training only, and fails on the third.</summary>
    private sealed class TrainingOnlyFailure : LearnerCallback
    {
        public int Batches { get; private set; }
        public override bool RunsInValidation => false;
        public override void AfterLoss(LearnerState state)
        {
            Assert.True(state.Training);
            if (++Batches == 3) throw new KeyNotFoundException("no such thing");
        }
    }

    [Fact]
    public void ACallbackRunsInThePassesItDeclaresAndItsFailureNamesItAndTheEvent()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);   // 2 training batches and 1 validation batch per epoch
        var failing = new TrainingOnlyFailure();
        var o = Options(epochs: 2);
        o.Callbacks.Add(failing);
        var error = Assert.Throws<InvalidOperationException>(() => new ResNetTrainer(o).Fit(data));
        Assert.Equal(3, failing.Batches);   // the first epoch's validation batch was not its business
        Assert.Contains("TrainingOnlyFailure", error.Message, StringComparison.Ordinal);
        Assert.Contains("AfterLoss", error.Message, StringComparison.Ordinal);
        Assert.IsType<KeyNotFoundException>(error.InnerException);
    }

    private sealed class Skipper(int epochToStopAfter) : LearnerCallback
    {
        public int Steps { get; private set; }
        public override int Order => 100;   // after the recorder, so a stopped epoch is still in the history
        public override void BeforeBatch(LearnerState state)
        {
            if (state.Training && state.Batch == 0) state.CancelBatch();
        }
        public override void AfterStep(LearnerState state) => Steps++;
        public override void AfterEpoch(LearnerState state)
        {
            if (state.Epoch == epochToStopAfter) state.CancelFit();
        }
    }

    [Fact]
    public void ACallbackCanSkipBatchesAndStopTheFit()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 6, perClassValid: 2);   // 24 training rows: 3 batches per epoch
        var skipper = new Skipper(epochToStopAfter: 1);
        var events = new EventLog();
        var o = Options(epochs: 4);
        o.Callbacks.Add(skipper);
        o.Callbacks.Add(events);
        using var model = new ResNetTrainer(o).Fit(data);

        Assert.Equal(2, model.History.Count);           // epochs 0 and 1, then stopped
        Assert.Equal(2 * 2, skipper.Steps);             // batch 0 of each epoch skipped: 2 steps per epoch
        Assert.Equal(2, events.Events.Count(e => e == "after_cancel_batch"));
        Assert.Equal(["after_cancel_fit", "after_fit"], events.Events[^2..]);
        Assert.DoesNotContain("before_backward", events.Events.SkipWhile(e => e != "after_cancel_batch").Skip(1).TakeWhile(e => e != "after_batch"));
    }

    /// <summary>Spoils the weights before the given epoch, so that epoch's validation loss is worse than the best.</summary>
    private sealed class Spoiler(int epoch) : LearnerCallback
    {
        public override void BeforeEpoch(LearnerState state)
        {
            if (state.Epoch != epoch) return;
            using var noGrad = torch.no_grad();
            foreach (var p in state.Model.parameters()) p.add_(randn_like(p).mul_(0.5));
        }
    }

    [Fact]
    public void SaveBestModelReturnsTheBestEpochsWeightsAndMarksIt()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 12, perClassValid: 6);
        var o = Options(epochs: 3);
        o.Callbacks.Add(new SaveBestModel());
        var log = new StringWriter();
        o.Log = log;
        o.MaxLearningRate = 1e-3f;   // small steps: the spoiled last epoch cannot recover
        o.Callbacks.Add(new Spoiler(epoch: 2));
        using var model = new ResNetTrainer(o).Fit(data);

        var history = model.History;
        int best = history.Select((m, i) => (m.ValidLoss!.Value, i)).Min().i;
        Assert.NotEqual(2, best);
        Assert.Equal(new[] { best }, history.Select((m, i) => (m, i)).Where(x => x.m.IsBest).Select(x => x.i));
        Assert.Contains($"Better model found at epoch {best} with valid_loss value", log.ToString());
        Assert.Contains($"keeps epoch {best}'s weights", log.ToString());

        // The fitted model scores the validation rows with the best epoch's loss, not the last one's.
        var valid = ml.Data.FilterByCustomPredicate<SquaresFlag>(data, r => !r.IsValid);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(valid));
        Assert.Equal(history[best].ValidLoss!.Value, metrics.LogLoss, 4);
        Assert.NotEqual(history[2].ValidLoss!.Value, metrics.LogLoss, 3);
    }

    [Fact]
    public void EarlyStoppingStopsAfterPatienceEpochsWithoutImprovement()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        var o = Options(epochs: 6);
        var log = new StringWriter();
        o.Log = log;
        // No change of accuracy can exceed 2, so only the first epoch counts as an improvement.
        o.Callbacks.Add(new EarlyStopping("accuracy", minDelta: 2, patience: 2));
        using var model = new ResNetTrainer(o).Fit(data);
        Assert.Equal(3, model.History.Count);
        Assert.Contains("No improvement since epoch 0: early stopping.", log.ToString());

        var unseen = Options();
        unseen.ValidationColumnName = null;
        unseen.Callbacks.Add(new EarlyStopping(patience: 1));
        var error = Assert.Throws<ArgumentException>(() => new ResNetTrainer(unseen).Fit(data));
        Assert.Contains("needs validation data", error.Message);
    }

    [Fact]
    public void LabelSmoothingIsFastaisFormula()
    {
        float[] values = [2f, -1f, 0.5f, 0.1f, 0.3f, 3f, -2f, 1f, 0f];
        long[] targets = [0, 2, 1];
        using var logits = tensor(values, [3, 3]);
        using var y = tensor(targets);
        const double eps = 0.1;
        double nll = 0, spread = 0;
        for (int i = 0; i < 3; i++)
        {
            var row = values.Skip(3 * i).Take(3).Select(v => (double)v).ToArray();
            double logSum = Math.Log(row.Sum(Math.Exp));
            nll += -(row[targets[i]] - logSum);
            spread += -row.Sum(v => v - logSum);
        }
        double expected = eps * (spread / 3) / 3 + (1 - eps) * nll / 3;   // eps·mean(−Σ log p)/c + (1−eps)·nll
        using var smoothed = new ClassificationLoss(eps).PerSample(logits, y).mean();
        Assert.Equal(expected, smoothed.item<float>(), 5);
        using var plain = new ClassificationLoss(0).PerSample(logits, y).mean();
        using var reference = nn.functional.cross_entropy(logits, y);
        Assert.Equal(reference.item<float>(), plain.item<float>(), 6);
    }

    [Theory]
    [InlineData(0.4)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void BetaDrawsHaveTheDistributionsMeanAndVariance(double alpha)
    {
        var random = new Random(5);
        var draws = Enumerable.Range(0, 40_000).Select(_ => BetaDistribution.Sample(random, alpha)).ToArray();
        Assert.All(draws, d => Assert.InRange(d, 0, 1));
        double mean = draws.Average(), variance = draws.Select(d => (d - mean) * (d - mean)).Average();
        Assert.Equal(0.5, mean, 0.01);
        Assert.Equal(1 / (4 * (2 * alpha + 1)), variance, 0.005);   // Var Beta(α, α) = 1 / (4(2α + 1))
    }

    /// <summary>A state holding a training batch whose image i is one-hot at column i: mixing shows λ and the partner.</summary>
    private static LearnerState OneHotBatch(int n, out Tensor x, out Tensor y)
    {
        x = zeros(n, 1, 1, n);
        for (int i = 0; i < n; i++) x[i, 0, 0, i] = 1f;
        y = tensor(Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray());
        var loss = new ClassificationLoss(0);
        return new LearnerState(nn.Identity(), loss.PerSample, TextWriter.Null) { Training = true, Input = x, Target = y, Random = new Random(8) };
    }

    [Fact]
    public void MixUpMixesEachImageWithItsPartnerAndTheLossTheSameWay()
    {
        const int n = 64;
        using var scope = NewDisposeScope();
        var state = OneHotBatch(n, out var x, out var y);
        var mixUp = new MixUp(0.4);
        mixUp.BeforeBatch(state);
        var mixed = state.Input!.reshape(n, n).data<float>().ToArray();
        var lambdas = new double[n];
        var partners = new int[n];
        for (int i = 0; i < n; i++)
        {
            var row = mixed.Skip(n * i).Take(n).ToArray();
            lambdas[i] = row[i];
            int others = row.Count(v => v != 0);
            int other = Enumerable.Range(0, n).FirstOrDefault(j => j != i && row[j] != 0, -1);
            partners[i] = other < 0 ? i : other;
            Assert.InRange(lambdas[i], 0.5, 1.0);
            Assert.Equal(1.0, row.Sum(), 5);                  // λ·x_i + (1 − λ)·x_partner
            Assert.True(others <= 2);
        }
        Assert.Equal(Enumerable.Range(0, n), partners.OrderBy(p => p));   // the partners are a permutation of the batch
        Assert.Contains(lambdas, l => l < 0.9);

        // Loss: mean of λ·CE(pred, y) + (1 − λ)·CE(pred, y_partner).
        var prediction = randn(n, 3);
        state.Prediction = prediction;
        state.Loss = nn.functional.cross_entropy(prediction, y);
        mixUp.AfterLoss(state);
        var logits = prediction.data<float>().ToArray();
        var labels = y.data<long>().ToArray();
        double CrossEntropy(int i, long label)
        {
            var row = logits.Skip(3 * i).Take(3).Select(v => (double)v).ToArray();
            return Math.Log(row.Sum(Math.Exp)) - row[label];
        }
        double expected = Enumerable.Range(0, n).Average(i => lambdas[i] * CrossEntropy(i, labels[i]) + (1 - lambdas[i]) * CrossEntropy(i, labels[partners[i]]));
        Assert.Equal(expected, state.LossValue, 4);
    }

    [Fact]
    public void CutMixPastesABoxWhoseAreaGivesLambda()
    {
        const int n = 8, h = 20, w = 30;
        using var scope = NewDisposeScope();
        var x = arange(1, n + 1, dtype: ScalarType.Float32).view(n, 1, 1, 1).expand(n, 3, h, w).contiguous();
        var y = tensor(Enumerable.Range(0, n).Select(i => (long)i).ToArray());
        var loss = new ClassificationLoss(0);
        var state = new LearnerState(nn.Identity(), loss.PerSample, TextWriter.Null) { Training = true, Input = x, Target = y, Random = new Random(2) };
        var cutMix = new CutMix(1.0);
        cutMix.BeforeBatch(state);
        var (left, top, right, bottom, lambda) = cutMix.LastBox;
        Assert.Equal(1 - (double)(right - left) * (bottom - top) / (w * h), lambda, 12);
        Assert.True(right > left && bottom > top, "this seed cuts a non-empty box");
        var mixed = state.Input!;
        var partners = new long[n];
        for (int i = 0; i < n; i++)
        {
            float own = i + 1, inside = mixed[i, 0, top, left].item<float>();
            partners[i] = (long)inside - 1;
            Assert.True(mixed[i].narrow(1, top, bottom - top).narrow(2, left, right - left).eq(inside).all().item<bool>());
            Assert.Equal((double)(h * w * 3) * own + (right - left) * (bottom - top) * 3 * (inside - own), mixed[i].sum().item<float>(), 1);
        }
        Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), partners.OrderBy(p => p));
        Assert.Equal(1f, x[0, 0, 0, 0].item<float>());   // the batch itself is not modified

        var prediction = randn(n, n);
        state.Prediction = prediction;
        state.Loss = nn.functional.cross_entropy(prediction, y);
        cutMix.AfterLoss(state);
        using var own2 = nn.functional.cross_entropy(prediction, y);
        using var partner = nn.functional.cross_entropy(prediction, tensor(partners));
        Assert.Equal(lambda * own2.item<float>() + (1 - lambda) * partner.item<float>(), state.LossValue, 4);
    }

    [Fact]
    public void GradientAccumulationStepsLikeOneBigBatch()
    {
        manual_seed(4);
        var xa = randn(4, 3, 8, 8);
        var xb = randn(4, 3, 8, 8);
        var ya = tensor(new long[] { 0, 1, 2, 1 });
        var yb = tensor(new long[] { 2, 0, 0, 1 });
        // No BatchNorm: a batch's gradient then does not depend on which rows share it.
        nn.Module<Tensor, Tensor> Net()
        {
            manual_seed(9);
            return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3));
        }
        using var accumulated = Net();
        using var whole = Net();
        using (var learner = new Learner(accumulated, CPU, 4, 0.01, null, TextWriter.Null, channelsLast: false))
        {
            var accumulation = new GradientAccumulation(2);
            accumulation.BeforeFit(learner.State);
            learner.TrainBatch(new ImageBatch(xa.clone(), ya.clone()), 1e-2, 0.9, [accumulation]);
            learner.TrainBatch(new ImageBatch(xb.clone(), yb.clone()), 1e-2, 0.9, [accumulation]);
        }
        using (var learner = new Learner(whole, CPU, 8, 0.01, null, TextWriter.Null, channelsLast: false))
            learner.TrainBatch(new ImageBatch(cat([xa, xb]), cat([ya, yb])), 1e-2, 0.9);

        var before = Net().parameters().ToArray();
        var a = accumulated.parameters().ToArray();
        var b = whole.parameters().ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(a[i].sub(b[i]).abs().max().item<float>() <= 1e-5, $"parameter {i} differs");
            Assert.True(a[i].sub(before[i]).abs().max().item<float>() > 1e-4, $"parameter {i} did not move");
        }
    }

    [Fact]
    public void AccumulatingMoreBatchesThanAnEpochHoldsStepsOnceAtTheEndOfEachEpoch()
    {
        var data = SquaresData.Load(new MLContext(0), perClassTrain: 4, perClassValid: 2);   // two batches of 8 per epoch
        float[] TrainedWeights(int accumulate)
        {
            var o = Options(epochs: 2);
            o.Callbacks.Add(new GradientAccumulation(accumulate));
            using var model = new ResNetTrainer(o).Fit(data);
            return model.Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        }

        // Accumulating 8 batches where an epoch has 2 steps at each epoch's end with the mean of its 2: as accumulating 2.
        float[] everyEpoch = TrainedWeights(2);
        float[] leftOver = TrainedWeights(8);
        float[] plain = TrainedWeights(1);

        Assert.True(everyEpoch.Zip(leftOver).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5f, "the left-over batches were not stepped");
        Assert.True(everyEpoch.Zip(plain).Max(p => Math.Abs(p.First - p.Second)) > 1e-4f, "one step per epoch should differ from one per batch");
    }

    [Fact]
    public void ExtraMetricsBecomeColumnsAndValues()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        var o = Options();
        var log = new StringWriter();
        o.Log = log;
        o.Metrics.Add(new ErrorRate());
        o.Metrics.Add(new TopKAccuracy(2));
        using var model = new ResNetTrainer(o).Fit(data);
        var m = model.History[0];
        Assert.Equal(1 - m.Accuracy!.Value, m.Metrics["error_rate"], 6);
        Assert.InRange(m.Metrics["top_2_accuracy"], m.Accuracy.Value, 1.0);
        Assert.Contains("epoch     train_loss  valid_loss  accuracy  error_rate  top_2_accuracy  time", log.ToString());

        using var logits = tensor(new float[] { 0.1f, 0.5f, 0.4f, 0.9f, 0.05f, 0.05f }, [2, 3]);
        using var y = tensor(new long[] { 2, 2 });
        Assert.Equal(new float[] { 1, 0 }, new TopKAccuracy(2).PerSample(logits, y).data<float>().ToArray());
        Assert.Equal(new float[] { 1, 1 }, new ErrorRate().PerSample(logits, y).data<float>().ToArray());
    }
}
