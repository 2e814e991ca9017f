using System.Diagnostics;
using ResNet.MLNet.Transforms;
using ResNet.MLNet.Transforms.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>Learner</c>: owns the model, the Adam optimiser and the loss, and runs one small loop — epochs of a training
/// pass (forward, loss, backward, step per batch) and a validation pass — that raises fastai's events to
/// <see cref="LearnerCallback"/>s. Everything else (the one-cycle schedule, the recorder and epoch table, the progress bar,
/// checkpoints, the LR range test, MixUp, …) is a callback.
/// </summary>
internal sealed class Learner : IDisposable
{
    private readonly TextWriter _output;
    private readonly int _batchSize;
    private bool _shuffleNoticeWritten;
    private bool _decodeNoticeWritten;
    private EpochTable? _table;

    public Learner(nn.Module<Tensor, Tensor> model, Device device, int batchSize, double weightDecay,
        HalfPrecisionCopy? halfPrecision, TextWriter output, bool channelsLast, ClassificationLoss? loss = null)
    {
        Model = model;
        Device = device;
        _batchSize = batchSize;
        Half = halfPrecision;
        ChannelsLast = channelsLast;
        _output = output;
        Loss = loss ?? new ClassificationLoss(0);
        Optimizer = new FastaiAdam(FastaiAdam.Groups(model), weightDecay: weightDecay);
        State = new LearnerState(model, Loss.PerSample, output, History);
    }

    public nn.Module<Tensor, Tensor> Model { get; }
    public Device Device { get; }
    public FastaiAdam Optimizer { get; }
    public HalfPrecisionCopy? Half { get; }
    public ClassificationLoss Loss { get; }

    /// <summary>What callbacks see and change.</summary>
    public LearnerState State { get; }

    /// <summary>Whether batches go to the network in channels-last (NHWC) layout (see <see cref="MemoryFormat"/>).</summary>
    public bool ChannelsLast { get; }

    /// <summary>The recorder's smoothed training loss (checkpointed; never reset between epochs, as in fastai).</summary>
    public SmoothedLoss Smoothed { get; } = new();

    public List<EpochMetrics> History { get; } = [];

    /// <summary>The console table (writes its header once).</summary>
    public EpochTable Table => _table ??= new EpochTable(_output);

    /// <summary>Wall time of the current epoch's training steps, of its whole training pass, and of its validation pass.</summary>
    internal (TimeSpan Steps, TimeSpan TrainingPass, TimeSpan Validation) EpochTimes { get; private set; }

    /// <summary>Batches read ahead on a background thread (<see cref="BatchReader.DefaultPrefetch"/>: none on the CPU).</summary>
    private int Prefetch => BatchReader.DefaultPrefetch(Device.type);

    private nn.Module<Tensor, Tensor> Working => Half?.Working ?? Model;

    /// <summary>
    /// The validation forward: in bf16 when training chose bf16 (only on a CPU whose bf16 kernels the step trial found
    /// faster), with the working copy's live BatchNorm statistics; else the fp32 master.
    /// </summary>
    private Tensor ValidationForward(Tensor x) => Half is { DType: ScalarType.BFloat16 } half ? half.Forward(x) : Model.forward(x);

    /// <summary>
    /// Runs epochs <paramref name="startEpoch"/> to <paramref name="epochs"/> − 1 (non-zero start when resuming) with
    /// <paramref name="callbacks"/> in their <see cref="LearnerCallback.Order"/>.
    /// </summary>
    public void Fit(TrainingData train, TrainingData? valid, int epochs, int startEpoch, long batchesPerEpoch, int seed,
        IEnumerable<LearnerCallback> callbacks, CancellationToken cancellation)
    {
        if (batchesPerEpoch == 0)
            throw new ArgumentException($"{train.Description} hold fewer rows than one batch (Options.BatchSize = {_batchSize}); " +
                "the last incomplete training batch is dropped, as fastai does. Lower BatchSize or add training rows.");
        var ordered = callbacks.OrderBy(c => c.Order).ToArray();
        void Raise(Action<LearnerCallback, LearnerState> e)
        {
            foreach (var callback in ordered) e(callback, State);
        }

        State.Epochs = epochs;
        State.BatchesPerEpoch = batchesPerEpoch;
        State.Iteration = startEpoch * batchesPerEpoch;
        State.HasValidation = valid is not null;
        using var decodes = DecodeMetrics.ObserveTrainingPasses(NoteDecodingOnTrainingPass);
        try
        {
            Raise((c, s) => c.BeforeFit(s));
            for (int epoch = startEpoch; epoch < epochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                State.Epoch = epoch;
                State.Random = new Random(unchecked(seed * 31 + epoch * 7 + 3));
                try
                {
                    Raise((c, s) => c.BeforeEpoch(s));
                    TrainingPass(train, seed, Raise, cancellation);
                    if (valid is not null) ValidationPass(valid, Raise, cancellation);
                    else EpochTimes = EpochTimes with { Validation = TimeSpan.Zero };
                }
                catch (CancelEpochSignal)
                {
                    Raise((c, s) => c.AfterCancelEpoch(s));
                }
                Raise((c, s) => c.AfterEpoch(s));
            }
        }
        catch (CancelFitSignal)
        {
            Raise((c, s) => c.AfterCancelFit(s));
        }
        Raise((c, s) => c.AfterFit(s));
        Model.eval();
    }

    private void TrainingPass(TrainingData train, int seed, Action<Action<LearnerCallback, LearnerState>> raise, CancellationToken cancellation)
    {
        State.Training = true;
        Working.train();
        NoteSelfShuffle(train);
        long passStart = Stopwatch.GetTimestamp(), stepTicks = 0;
        raise((c, s) => c.BeforeTrain(s));
        using (var reader = new BatchReader(train, _batchSize, EpochRandom(seed, State.Epoch), dropLast: true, "training", cancellation, Prefetch))
        {
            int b = 0;
            foreach (var batch in reader.Batches())
            {
                using (batch)
                {
                    long stepStart = Stopwatch.GetTimestamp();
                    State.Batch = b++;
                    try { OneBatch(batch, raise); }
                    finally { State.Iteration++; }
                    stepTicks += Stopwatch.GetTimestamp() - stepStart;
                }
                cancellation.ThrowIfCancellationRequested();
            }
        }
        StepPendingGradients();
        Half?.SyncBuffersToMaster();
        EpochTimes = (Stopwatch.GetElapsedTime(0, stepTicks), Stopwatch.GetElapsedTime(passStart), TimeSpan.Zero);
        raise((c, s) => c.AfterTrain(s));
    }

    private void ValidationPass(TrainingData valid, Action<Action<LearnerCallback, LearnerState>> raise, CancellationToken cancellation)
    {
        long start = Stopwatch.GetTimestamp();
        State.Training = false;
        Model.eval();
        Working.eval();
        try
        {
            using var noGrad = torch.no_grad();
            raise((c, s) => c.BeforeValidate(s));
            using var reader = new BatchReader(valid, _batchSize, random: null, dropLast: false, "validation", cancellation, Prefetch);
            int b = 0;
            foreach (var batch in reader.Batches())
            {
                using (batch)
                {
                    State.Batch = b++;
                    OneBatch(batch, raise);
                }
                cancellation.ThrowIfCancellationRequested();
            }
            raise((c, s) => c.AfterValidate(s));
        }
        finally
        {
            Working.train();
            EpochTimes = EpochTimes with { Validation = Stopwatch.GetElapsedTime(start) };
        }
    }

    /// <summary>
    /// fastai's <c>freeze</c>: only the last parameter group (the head) and BatchNorm layers train (<c>train_bn</c>);
    /// needs a network with <see cref="Modules.IParameterGroups"/>.
    /// </summary>
    public void Freeze() => SetTrainable(frozenGroups: ((Modules.IParameterGroups)Model).ParameterGroups.Count - 1);

    /// <summary>fastai's <c>unfreeze</c>: every parameter trains.</summary>
    public void Unfreeze() => SetTrainable(frozenGroups: 0);

    private void SetTrainable(int frozenGroups)
    {
        var frozen = new HashSet<string>();
        var groups = Model is Modules.IParameterGroups split ? split.ParameterGroups : [];
        var names = Model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        for (int g = 0; g < frozenGroups; g++)
            foreach (var module in groups[g])
                foreach (var (_, sub) in module.named_modules())
                    if (!FastaiAdam.IsNormalization(sub))
                        foreach (var p in sub.parameters(recurse: false)) frozen.Add(names[p.Handle]);
        foreach (var network in Half is null ? [Model] : new[] { Model, Half.Working })
            foreach (var (name, p) in network.named_parameters())
                p.requires_grad_(!frozen.Contains(name));
    }

    /// <summary>
    /// fastai's LR range test (<see cref="RangeTestCallback"/>) over the training rows, as many epochs as it needs; the
    /// model, optimiser and loss scale are restored afterwards.
    /// </summary>
    public (double[] LearningRates, double[] Losses) RangeTest(TrainingData train, double start, double end, int iterations,
        bool stopOnDivergence, int seed, CancellationToken cancellation)
    {
        long batchesPerEpoch = train.CountRows(cancellation) / _batchSize;
        var test = new RangeTestCallback(this, start, end, iterations, stopOnDivergence);
        int epochs = (int)Math.Ceiling((double)iterations / Math.Max(1, batchesPerEpoch));
        Fit(train, null, epochs, 0, batchesPerEpoch, seed, [test], cancellation);
        return (test.LearningRates.ToArray(), test.Losses.ToArray());
    }

    /// <summary>
    /// One training step on <paramref name="batch"/> outside a fit, with the batch events of <paramref name="callbacks"/>
    /// only (the step trial and benchmarks time it without any); returns its loss.
    /// </summary>
    public double TrainBatch(ImageBatch batch, double learningRate, double momentum, IReadOnlyList<LearnerCallback>? callbacks = null)
    {
        State.Training = true;
        Working.train();
        State.LearningRate = learningRate;
        State.Momentum = momentum;
        var ordered = (callbacks ?? []).OrderBy(c => c.Order).ToArray();
        return OneBatch(batch, e =>
        {
            foreach (var callback in ordered) e(callback, State);
        });
    }

    /// <summary>
    /// One batch: forward, loss and (training) backward and optimiser step, raising the batch events; returns the loss
    /// (NaN when a callback cancelled the batch before it was computed).
    /// </summary>
    private double OneBatch(ImageBatch batch, Action<Action<LearnerCallback, LearnerState>> raise)
    {
        using var scope = torch.NewDisposeScope();
        bool training = State.Training;
        State.Input = Input(batch.Features);
        State.Target = batch.Labels.to(Device);
        State.BackwardScale = 1;
        try
        {
            raise((c, s) => c.BeforeBatch(s));
            State.Prediction = !training ? ValidationForward(State.Input) : Half is null ? Model.forward(State.Input) : Half.Forward(State.Input);
            raise((c, s) => c.AfterPred(s));
            State.Loss = State.PerSampleLoss(State.Prediction, State.Target!).mean();
            raise((c, s) => c.AfterLoss(s));
            if (training)
            {
                raise((c, s) => c.BeforeBackward(s));
                bool apply = true;
                var loss = State.BackwardScale == 1 ? State.Loss! : State.Loss!.mul(State.BackwardScale);
                if (Half is null) loss.backward();
                else apply = Half.BackwardToMaster(loss);
                raise((c, s) => c.AfterBackward(s));
                raise((c, s) => c.BeforeStep(s));
                if (apply)
                {
                    Optimizer.Step(State.LearningRate, State.Momentum);
                    Half?.CopyMasterToWorking();
                }
                raise((c, s) => c.AfterStep(s));
                Optimizer.ZeroGrad();
            }
        }
        catch (CancelBatchSignal)
        {
            raise((c, s) => c.AfterCancelBatch(s));
        }
        raise((c, s) => c.AfterBatch(s));
        double value = State.LossValue;
        State.Input = State.Target = null;
        State.Prediction = null;
        State.Loss = null;
        return value;
    }

    /// <summary>
    /// Steps with gradients summed over the last batches of a training pass that never reached their optimiser step
    /// (gradient accumulation over more batches than remained), scaled to their mean, so no batch's gradient is lost or
    /// carried into the next epoch.
    /// </summary>
    private void StepPendingGradients()
    {
        if (State.PendingStepScale is not double scale) return;
        State.PendingStepScale = null;
        Optimizer.ScaleGradients(scale);
        Optimizer.Step(State.LearningRate, State.Momentum);
        Half?.CopyMasterToWorking();
        Optimizer.ZeroGrad();
    }

    /// <summary>The batch's images on the device, channels-last if chosen (the half-precision copy keeps the layout).</summary>
    private Tensor Input(Tensor features)
    {
        var x = features.to(Device);
        return ChannelsLast ? MemoryFormat.ToChannelsLast(x) : x;
    }

    /// <summary>The per-epoch Random handed to the cursor (drives upstream shuffling and augmentation).</summary>
    public static Random EpochRandom(int seed, int epoch) => new(unchecked(seed * 1_000_003 + epoch * 7919 + 17));

    private void NoteSelfShuffle(TrainingData train)
    {
        if (train.View.CanShuffle || _shuffleNoticeWritten) return;
        _shuffleNoticeWritten = true;
        _output.WriteLine($"note: the training data view cannot shuffle; shuffling rows through a pool of {BatchReader.ShufflePoolRows(train, _batchSize)} " +
            "(LoadPresizedImages, or AppendCacheCheckpoint, before the trainer gives a full shuffle).");
    }

    private void NoteDecodingOnTrainingPass()
    {
        if (_decodeNoticeWritten) return;
        _decodeNoticeWritten = true;
        _output.WriteLine("note: this training pass decodes the image files again: no cache lies between LoadImageFiles and the trainer, " +
            "so every epoch decodes every image. Use LoadPresizedImages (or ImageClassificationPreprocessing) in place of LoadImageFiles → " +
            "PresizeImages → ImagesToTensor, or put AppendCacheCheckpoint after ImagesToTensor in the same EstimatorChain as the trainer " +
            "(a chain appended as an IEstimator<ITransformer> is fitted as one step, and its checkpoints do not reach the trainer).");
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Half?.Dispose();
    }
}
