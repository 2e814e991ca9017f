using ResNet.MLNet.Runtime;
using ResNet.MLNet.Transforms.Batching;
using TorchSharp;
using static ResNet.MLNet.Training.LearnerEvent;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>Learner</c>: owns the model, the Adam optimiser and the loss, and runs the loop — epochs of a training
/// pass (forward, loss, backward, step per batch) and a validation pass — raising fastai's events to
/// <see cref="LearnerCallback"/>s through <see cref="LearnerEvents"/>; <see cref="TrainingPrecision"/> runs the forward,
/// backward and step in the chosen precision. Everything else (the parameter schedule, the recorder and epoch table,
/// the progress bar, checkpoints, the LR range test, MixUp, …) is a callback.
/// </summary>
internal sealed class Learner : IDisposable
{
    private readonly TrainingPrecision _precision;

    public Learner(nn.Module<Tensor, Tensor> model, Device device, int batchSize, double weightDecay,
        HalfPrecisionCopy? halfPrecision, TextWriter output, bool channelsLast, ClassificationLoss? loss = null)
    {
        Model = model;
        Device = device;
        BatchSize = batchSize;
        Half = halfPrecision;
        ChannelsLast = channelsLast;
        Optimizer = new FastaiAdam(FastaiAdam.Groups(model), weightDecay: weightDecay);
        _precision = new TrainingPrecision(model, halfPrecision, Optimizer);
        State = new LearnerState(model, (loss ?? new ClassificationLoss(0)).PerSample, output)
        {
            Optimizer = Optimizer, Half = halfPrecision, Precision = _precision,
        };
    }

    public nn.Module<Tensor, Tensor> Model { get; }
    public Device Device { get; }
    public int BatchSize { get; }
    public FastaiAdam Optimizer { get; }
    public HalfPrecisionCopy? Half { get; }

    /// <summary>What callbacks see and change.</summary>
    public LearnerState State { get; }

    /// <summary>Whether batches go to the network in channels-last (NHWC) layout (see <see cref="MemoryFormat"/>).</summary>
    public bool ChannelsLast { get; }

    /// <summary>Batches read ahead on a background thread (<see cref="BatchReader.DefaultPrefetch"/>: none on the CPU).</summary>
    private int Prefetch => BatchReader.DefaultPrefetch(Device.type);

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
        _precision.Working.train();
        events.WithEvents(BeforeTrain, () =>
        {
            using (var reader = new BatchReader(train, BatchSize, BatchReader.EpochRandom(seed, State.Epoch), dropLast: true, "training", cancellation, Prefetch))
                AllBatches(reader, events, cancellation);
            _precision.EndTrainingPass();
        }, AfterTrain);
    }

    private void ValidationPass(TrainingData valid, LearnerEvents events, CancellationToken cancellation)
    {
        State.Training = false;
        Model.eval();
        _precision.Working.eval();
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
            _precision.Working.train();
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
        _precision.Working.train();
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
            State.Prediction = training ? _precision.TrainingForward(State.Input) : _precision.ValidationForward(State.Input);
            events.Raise(AfterPred);
            State.Loss = State.PerSampleLoss(State.Prediction, State.Target!).mean();
            events.Raise(AfterLoss);
            if (!training) return;
            bool apply = true;
            events.WithEvents(BeforeBackward, () => apply = _precision.Backward(State.Loss!, State.BackwardScale), AfterBackward);
            events.WithEvents(BeforeStep, () => { if (apply) _precision.Step(State.LearningRate, State.Momentum); }, AfterStep);
            Optimizer.ZeroGrad();
        }, AfterBatch, cancellable: AfterCancelBatch);
        double value = State.LossValue;
        State.Input = State.Target = null;
        State.Prediction = null;
        State.Loss = null;
        return value;
    }

    /// <summary>The batch's images on the device, channels-last if chosen (the half-precision copy keeps the layout).</summary>
    private Tensor Input(Tensor features) => ChannelsLast ? MemoryFormat.ToChannelsLast(features.to(Device)) : features.to(Device);

    public void Dispose()
    {
        Optimizer.Dispose();
        Half?.Dispose();
    }
}
