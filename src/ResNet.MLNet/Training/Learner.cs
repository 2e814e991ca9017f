using System.Diagnostics;
using ResNet.MLNet.Transforms;
using ResNet.MLNet.Transforms.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>Learner</c> + <c>fit_one_cycle</c>: owns the model, the Adam optimiser, the smoothed loss and the
/// history; runs training passes (one-cycle schedule per batch) and whole-set validation passes.
/// </summary>
internal sealed class Learner : IDisposable
{
    private readonly TextWriter _output;
    private readonly bool _progressBar;
    private readonly int _batchSize;
    private bool _shuffleNoticeWritten;
    private bool _decodeNoticeWritten;
    private EpochTable? _table;

    public Learner(nn.Module<Tensor, Tensor> model, Device device, int batchSize, double weightDecay,
        HalfPrecisionCopy? halfPrecision, TextWriter output, bool progressBar, bool channelsLast)
    {
        Model = model;
        Device = device;
        _batchSize = batchSize;
        Half = halfPrecision;
        ChannelsLast = channelsLast;
        _output = output;
        _progressBar = progressBar;
        Optimizer = new FastaiAdam(FastaiAdam.Groups(model), weightDecay: weightDecay);
    }

    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>Batches read ahead on a background thread (<see cref="BatchReader.DefaultPrefetch"/>: none on the CPU).</summary>
    private int Prefetch => BatchReader.DefaultPrefetch(Device.type);
    public Device Device { get; }
    public FastaiAdam Optimizer { get; }
    public HalfPrecisionCopy? Half { get; }

    /// <summary>Whether batches go to the network in channels-last (NHWC) layout (see <see cref="MemoryFormat"/>).</summary>
    public bool ChannelsLast { get; }
    public SmoothedLoss Smoothed { get; private set; } = new();
    public List<EpochMetrics> History { get; } = [];

    /// <summary>The console table (writes its header once).</summary>
    public EpochTable Table => _table ??= new EpochTable(_output);

    /// <summary>Called after every training batch with (epoch, batch, raw loss); the LR finder and tests use it.</summary>
    public Action<int, int, double>? AfterBatch { get; set; }

    private nn.Module<Tensor, Tensor> Working => Half?.Working ?? Model;

    /// <summary>One training step; returns the batch's (unscaled) loss. Throws <see cref="TrainingDivergedException"/> on NaN/Inf.</summary>
    public double TrainBatch(ImageBatch batch, double lr, double momentum, int epoch, int batchIndex)
    {
        using var scope = torch.NewDisposeScope();
        var x = Input(batch.Features, ChannelsLast);
        var y = batch.Labels.to(Device);
        Tensor logits = Half is null ? Model.forward(x) : Half.Forward(x);
        var loss = nn.functional.cross_entropy(logits, y);
        double value = loss.item<float>();
        if (!double.IsFinite(value)) throw new TrainingDivergedException(epoch, batchIndex, value, lr);
        if (Half is null)
        {
            loss.backward();
            Optimizer.Step(lr, momentum);
        }
        else if (Half.BackwardToMaster(loss))
        {
            Optimizer.Step(lr, momentum);
            Half.CopyMasterToWorking();
        }
        Optimizer.ZeroGrad();
        return value;
    }

    /// <summary>The batch's images on the device, channels-last if asked (the half-precision copy keeps the layout).</summary>
    private Tensor Input(Tensor features, bool channelsLast)
    {
        var x = features.to(Device);
        return channelsLast ? MemoryFormat.ToChannelsLast(x) : x;
    }

    /// <summary>fit_one_cycle from <paramref name="startEpoch"/> (non-zero when resuming) to <paramref name="epochs"/>.</summary>
    public void FitOneCycle(TrainingData train, TrainingData? valid, int epochs, int startEpoch, OneCycleSchedule schedule,
        long batchesPerEpoch, int seed, Action<EpochMetrics> onEpoch, Action<int>? checkpoint, CancellationToken cancellation)
    {
        if (batchesPerEpoch == 0)
            throw new ArgumentException($"{train.Description} hold fewer rows than one batch (Options.BatchSize = {_batchSize}); " +
                "the last incomplete training batch is dropped, as fastai does. Lower BatchSize or add training rows.");
        long totalIterations = batchesPerEpoch * epochs;
        using var decodes = DecodeMetrics.ObserveTrainingPasses(NoteDecodingOnTrainingPass);
        for (int epoch = startEpoch; epoch < epochs; epoch++)
        {
            cancellation.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            Working.train();
            NoteSelfShuffle(train);
            var bar = _progressBar ? new ProgressBar(_output, $"epoch {epoch}", batchesPerEpoch) : null;
            int b = 0;
            long stepTicks = 0, dataStart = Stopwatch.GetTimestamp();
            using (var reader = new BatchReader(train, _batchSize, EpochRandom(seed, epoch), dropLast: true, "training", cancellation, Prefetch))
            {
                foreach (var batch in reader.Batches())
                {
                    using (batch)
                    {
                        long stepStart = Stopwatch.GetTimestamp();
                        double position = (double)(epoch * batchesPerEpoch + b) / totalIterations;
                        double loss = TrainBatch(batch, schedule.LearningRate(position), schedule.Momentum(position), epoch, b);
                        stepTicks += Stopwatch.GetTimestamp() - stepStart;
                        Smoothed.Add(loss);
                        AfterBatch?.Invoke(epoch, b, loss);
                        b++;
                        bar?.Update(b, Smoothed.Value);
                    }
                    cancellation.ThrowIfCancellationRequested();
                }
            }
            var trainingTime = Stopwatch.GetElapsedTime(dataStart);
            bar?.Clear();
            Half?.SyncBuffersToMaster();
            double? validLoss = null, accuracy = null;
            long validStart = Stopwatch.GetTimestamp();
            if (valid is not null)
                (validLoss, accuracy) = Validate(valid, cancellation);
            var stepTime = Stopwatch.GetElapsedTime(0, stepTicks);
            var metrics = new EpochMetrics(epoch, Smoothed.Value, validLoss, accuracy, clock.Elapsed)
            {
                StepTime = stepTime,
                DataTime = trainingTime - stepTime,
                ValidationTime = valid is null ? TimeSpan.Zero : Stopwatch.GetElapsedTime(validStart),
            };
            History.Add(metrics);
            Table.Write(metrics);
            onEpoch(metrics);
            checkpoint?.Invoke(epoch);
        }
        Model.eval();
    }

    /// <summary>Mean cross-entropy and accuracy over every row of <paramref name="valid"/> (in order, nothing dropped).</summary>
    public (double Loss, double Accuracy) Validate(TrainingData valid, CancellationToken cancellation)
    {
        var model = Model;
        model.eval();
        double lossSum = 0;
        long correct = 0, count = 0;
        using var noGrad = torch.no_grad();
        // Deterministic values computed in batches by the batched transforms, as on training passes (not row by row).
        using var reader = new BatchReader(valid, _batchSize, BatchedScoringPass.Create(), dropLast: false, "validation", cancellation, Prefetch);
        foreach (var batch in reader.Batches())
        {
            using (batch)
            using (var scope = torch.NewDisposeScope())
            {
                var logits = model.forward(Input(batch.Features, ChannelsLast));
                var y = batch.Labels.to(Device);
                lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(y).sum().item<long>();
                count += batch.Count;
            }
            cancellation.ThrowIfCancellationRequested();
        }
        Working.train();
        if (count == 0)
            throw new ArgumentException($"{valid.Description} hold no rows; give validation rows or leave the validation options unset.");
        return (lossSum / count, (double)correct / count);
    }

    /// <summary>
    /// fastai's LR range test: lr = start·(end/start)^(i/iterations) for batch i, momentum 0.9, no validation; stops after
    /// <paramref name="iterations"/> batches, or when the smoothed loss exceeds 4× its best (or stops being finite).
    /// The model (weights and BatchNorm statistics), optimiser state and smoothed loss are restored afterwards.
    /// </summary>
    public (double[] LearningRates, double[] Losses) RangeTest(TrainingData train, double start, double end, int iterations,
        bool stopOnDivergence, int seed, CancellationToken cancellation)
    {
        var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            Model.save(writer);
            Optimizer.Save(writer);
        }
        var savedSmoother = Smoothed;
        var savedScale = Half is null ? (1.0, 0) : (Half.Scaler.Scale, Half.Scaler.CleanSteps);
        var lrs = new List<double>();
        var losses = new List<double>();
        try
        {
            Smoothed = new SmoothedLoss();
            Working.train();
            using var decodes = DecodeMetrics.ObserveTrainingPasses(NoteDecodingOnTrainingPass);
            double best = double.PositiveInfinity;
            bool stop = false;
            for (int epoch = 0; !stop; epoch++)
            {
                int batchesThisEpoch = 0;
                using var reader = new BatchReader(train, _batchSize, EpochRandom(seed, epoch), dropLast: true, "LR range test", cancellation, Prefetch);
                foreach (var batch in reader.Batches())
                {
                    using (batch)
                    {
                        int i = lrs.Count;
                        double lr = start * Math.Pow(end / start, (double)i / iterations);
                        double smooth;
                        try { smooth = Smoothed.Add(TrainBatch(batch, lr, 0.9, epoch, batchesThisEpoch)); }
                        catch (TrainingDivergedException) { smooth = double.NaN; }
                        batchesThisEpoch++;
                        lrs.Add(lr);
                        losses.Add(smooth);
                        if (smooth < best) best = smooth;
                        stop = lrs.Count >= iterations || !double.IsFinite(smooth) || (stopOnDivergence && smooth > 4 * best);
                    }
                    cancellation.ThrowIfCancellationRequested();
                    if (stop) break;
                }
                if (batchesThisEpoch == 0)
                    throw new ArgumentException($"{train.Description} hold fewer rows than one batch (Options.BatchSize = {_batchSize}).");
            }
        }
        finally
        {
            saved.Position = 0;
            using var reader = new BinaryReader(saved);
            Model.load(reader);
            Optimizer.Load(reader);
            Optimizer.ZeroGrad();
            Smoothed = savedSmoother;
            Half?.Scaler.Restore(savedScale.Item1, savedScale.Item2);
            Half?.SyncAllFromMaster();
        }
        return (lrs.ToArray(), losses.ToArray());
    }

    /// <summary>The per-epoch Random handed to the cursor (drives upstream shuffling and augmentation).</summary>
    public static Random EpochRandom(int seed, int epoch) => new(unchecked(seed * 1_000_003 + epoch * 7919 + 17));

    private void NoteSelfShuffle(TrainingData train)
    {
        if (train.View.CanShuffle || _shuffleNoticeWritten) return;
        _shuffleNoticeWritten = true;
        _output.WriteLine($"note: the training data view cannot shuffle; shuffling rows through a pool of {BatchReader.ShufflePoolRows(train, _batchSize)} " +
            "(add AppendCacheCheckpoint before the trainer for a full shuffle).");
    }

    private void NoteDecodingOnTrainingPass()
    {
        if (_decodeNoticeWritten) return;
        _decodeNoticeWritten = true;
        _output.WriteLine("note: this training pass decodes the image files again: no cache lies between LoadImageFiles and the trainer, " +
            "so every epoch decodes every image. Put AppendCacheCheckpoint after ImagesToTensor in the same EstimatorChain as the trainer " +
            "(a chain appended as an IEstimator<ITransformer> is fitted as one step, and its checkpoints do not reach the trainer).");
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Half?.Dispose();
    }
}
