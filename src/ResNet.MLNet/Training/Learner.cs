using ResNet.MLNet.Transforms.Batching;
using TorchSharp;
using static TorchSharp.torch;
using static ResNet.MLNet.Training.LearnerEvent;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>Learner</c>: owns the model, the Adam optimiser and the loss, and runs the loop — epochs of a training
/// pass (forward, loss, backward, step per batch) and a validation pass — raising fastai's events to
/// <see cref="LearnerCallback"/>s through <see cref="LearnerEvents"/>. Everything else (the parameter schedule, the
/// recorder and epoch table, the progress bar, checkpoints, the LR range test, MixUp, …) is a callback.
/// </summary>
internal sealed class Learner : IDisposable
{
    public Learner(nn.Module<Tensor, Tensor> model, Device device, int batchSize, double weightDecay,
        HalfPrecisionCopy? halfPrecision, TextWriter output, bool channelsLast, ClassificationLoss? loss = null)
    {
        Model = model;
        Device = device;
        BatchSize = batchSize;
        Half = halfPrecision;
        ChannelsLast = channelsLast;
        Loss = loss ?? new ClassificationLoss(0);
        Optimizer = new FastaiAdam(FastaiAdam.Groups(model), weightDecay: weightDecay);
        State = new LearnerState(model, Loss.PerSample, output) { Optimizer = Optimizer, Half = halfPrecision };
    }

    public nn.Module<Tensor, Tensor> Model { get; }
    public Device Device { get; }
    public int BatchSize { get; }
    public FastaiAdam Optimizer { get; }
    public HalfPrecisionCopy? Half { get; }
    public ClassificationLoss Loss { get; }

    /// <summary>What callbacks see and change.</summary>
    public LearnerState State { get; }

    /// <summary>Whether batches go to the network in channels-last (NHWC) layout (see <see cref="MemoryFormat"/>).</summary>
    public bool ChannelsLast { get; }

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
    /// <paramref name="callbacks"/>; the <see cref="Recorder"/> among them is the state's.
    /// </summary>
    public void Fit(TrainingData train, TrainingData? valid, int epochs, int startEpoch, long batchesPerEpoch, int seed,
        IEnumerable<LearnerCallback> callbacks, CancellationToken cancellation)
    {
        var all = callbacks.ToArray();
        var events = new LearnerEvents(all, State);
        State.Recorder = all.OfType<Recorder>().SingleOrDefault();
        State.Epochs = epochs;
        State.BatchesPerEpoch = batchesPerEpoch;
        State.Iteration = startEpoch * batchesPerEpoch;
        State.HasValidation = valid is not null;
        events.WithEvents(BeforeFit, () =>
        {
            for (int epoch = startEpoch; epoch < epochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                State.Epoch = epoch;
                State.Random = new Random(unchecked(seed * 31 + epoch * 7 + 3));
                events.WithEvents(BeforeEpoch, () =>
                {
                    TrainingPass(train, seed, events, cancellation);
                    if (valid is not null) ValidationPass(valid, events, cancellation);
                }, AfterEpoch, cancellable: AfterCancelEpoch);
            }
        }, AfterFit, cancellable: AfterCancelFit);
        Model.eval();
    }

    private void TrainingPass(TrainingData train, int seed, LearnerEvents events, CancellationToken cancellation)
    {
        State.Training = true;
        Working.train();
        events.WithEvents(BeforeTrain, () =>
        {
            using (var reader = new BatchReader(train, BatchSize, EpochRandom(seed, State.Epoch), dropLast: true, "training", cancellation, Prefetch))
                AllBatches(reader, events, cancellation);
            StepPendingGradients();
            Half?.SyncBuffersToMaster();
        }, AfterTrain);
    }

    private void ValidationPass(TrainingData valid, LearnerEvents events, CancellationToken cancellation)
    {
        State.Training = false;
        Model.eval();
        Working.eval();
        try
        {
            using var noGrad = torch.no_grad();
            events.WithEvents(BeforeValidate, () =>
            {
                using var reader = new BatchReader(valid, BatchSize, random: null, dropLast: false, "validation", cancellation, Prefetch);
                AllBatches(reader, events, cancellation);
            }, AfterValidate);
        }
        finally
        {
            Working.train();
        }
    }

    private void AllBatches(BatchReader reader, LearnerEvents events, CancellationToken cancellation)
    {
        int b = 0;
        foreach (var batch in reader.Batches())
        {
            using (batch)
            {
                State.Batch = b++;
                try { OneBatch(batch, events); }
                finally { if (State.Training) State.Iteration++; }
            }
            cancellation.ThrowIfCancellationRequested();
        }
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
        return OneBatch(batch, new LearnerEvents(callbacks ?? [], State));
    }

    /// <summary>
    /// One batch: forward, loss and (training) backward and optimiser step, raising the batch events; returns the loss
    /// (NaN when a callback cancelled the batch before it was computed).
    /// </summary>
    private double OneBatch(ImageBatch batch, LearnerEvents events)
    {
        using var scope = torch.NewDisposeScope();
        bool training = State.Training;
        State.Input = Input(batch.Features);
        State.Target = batch.Labels.to(Device);
        State.BackwardScale = 1;
        events.WithEvents(BeforeBatch, () =>
        {
            State.Prediction = !training ? ValidationForward(State.Input) : Half is null ? Model.forward(State.Input) : Half.Forward(State.Input);
            events.Raise(AfterPred);
            State.Loss = State.PerSampleLoss(State.Prediction, State.Target!).mean();
            events.Raise(AfterLoss);
            if (!training) return;
            bool apply = true;
            events.WithEvents(BeforeBackward, () => apply = Backward(), AfterBackward);
            events.WithEvents(BeforeStep, () => { if (apply) Step(); }, AfterStep);
            Optimizer.ZeroGrad();
        }, AfterBatch, cancellable: AfterCancelBatch);
        double value = State.LossValue;
        State.Input = State.Target = null;
        State.Prediction = null;
        State.Loss = null;
        return value;
    }

    /// <summary>Backpropagates the loss (scaled for gradient accumulation); false when mixed precision skips this step.</summary>
    private bool Backward()
    {
        var loss = State.BackwardScale == 1 ? State.Loss! : State.Loss!.mul(State.BackwardScale);
        if (Half is not null) return Half.BackwardToMaster(loss);
        loss.backward();
        return true;
    }

    private void Step()
    {
        Optimizer.Step(State.LearningRate, State.Momentum);
        Half?.CopyMasterToWorking();
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
        Step();
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

    public void Dispose()
    {
        Optimizer.Dispose();
        Half?.Dispose();
    }
}
