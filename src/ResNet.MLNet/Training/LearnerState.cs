using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// What the training loop is doing, as fastai's callbacks see it through <c>self.learn</c>: the model, where the loop is,
/// the current batch, prediction and loss, and the optimiser's learning rate and momentum. Callbacks read it and may
/// change <see cref="Input"/>, <see cref="Target"/>, <see cref="Loss"/>, <see cref="LearningRate"/> and <see cref="Momentum"/>.
/// Tensors belong to the batch: they are disposed when it ends.
/// </summary>
public sealed class LearnerState
{
    private readonly Func<Tensor, Tensor, Tensor> _perSampleLoss;
    private Tensor? _loss;
    private double? _lossValue;

    internal LearnerState(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor, Tensor> perSampleLoss, TextWriter log)
    {
        Model = model;
        _perSampleLoss = perSampleLoss;
        Log = log;
    }

    /// <summary>The network being trained (the fp32 master weights with mixed precision).</summary>
    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>Where the epoch table and notes go.</summary>
    public TextWriter Log { get; }

    /// <summary>The zero-based epoch.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Epochs of this fit.</summary>
    public int Epochs { get; internal set; }

    /// <summary>Training batches per epoch (the last incomplete one is dropped).</summary>
    public long BatchesPerEpoch { get; internal set; }

    /// <summary>The zero-based batch within the current pass.</summary>
    public int Batch { get; internal set; }

    /// <summary>Training batches done in this fit, counted from its first epoch (fastai's <c>train_iter</c>).</summary>
    public long Iteration { get; internal set; }

    /// <summary>Training batches of the whole fit.</summary>
    public long TotalIterations => BatchesPerEpoch * Epochs;

    /// <summary>Fraction of the fit's training batches done (fastai's <c>pct_train</c>).</summary>
    public double TrainingProgress => TotalIterations == 0 ? 0 : (double)Iteration / TotalIterations;

    /// <summary>True in a training pass, false in a validation pass.</summary>
    public bool Training { get; internal set; }

    /// <summary>The batch's images <c>[N, 3, H, W]</c> on the device; a callback may replace them before the forward pass.</summary>
    public Tensor? Input { get; set; }

    /// <summary>The batch's zero-based class indices <c>[N]</c>; a callback may replace them before the loss.</summary>
    public Tensor? Target { get; set; }

    /// <summary>The network's logits <c>[N, classes]</c> (fp32).</summary>
    public Tensor? Prediction { get; internal set; }

    /// <summary>The batch's scalar loss, which the backward pass minimises; a callback may replace it after the loss.</summary>
    public Tensor? Loss
    {
        get => _loss;
        set
        {
            _loss = value;
            _lossValue = null;
        }
    }

    /// <summary>The value of <see cref="Loss"/> (read from the device once per batch).</summary>
    public double LossValue => _lossValue ??= Loss is null ? double.NaN : Loss.item<float>();

    /// <summary>The learning rate of the next optimiser step; the parameter scheduler sets it before every training batch.</summary>
    public double LearningRate { get; set; }

    /// <summary>Adam's β1 of the next step; the parameter scheduler sets it before every training batch.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Whether the fit has validation data (the validation pass runs each epoch).</summary>
    public bool HasValidation { get; internal set; }

    /// <summary>Multiplies the loss for this batch's backward pass only (gradient accumulation); reset to 1 every batch.</summary>
    internal double BackwardScale { get; set; } = 1;

    /// <summary>A generator for callbacks' random draws (MixUp, CutMix), seeded from the run's seed and the epoch.</summary>
    public Random Random { get; internal set; } = new(0);

    /// <summary>The metrics of the epochs done so far (the recorder's).</summary>
    public IReadOnlyList<EpochMetrics> History => Recorder?.History ?? [];

    /// <summary>The recorder's smoothed training loss (fastai's <c>smooth_loss</c>; NaN before the first training batch).</summary>
    public double SmoothedLoss => Recorder?.Smoothed.Value ?? double.NaN;

    /// <summary>The fit's recorder (fastai's <c>learn.recorder</c>), or null when the fit records nothing (the LR range test).</summary>
    internal Recorder? Recorder { get; set; }

    /// <summary>The optimiser (its state is saved and restored by checkpoints and the range test).</summary>
    internal FastaiAdam? Optimizer { get; init; }

    /// <summary>The half-precision working copy and its loss scaler, when training in fp16 or bf16.</summary>
    internal HalfPrecisionCopy? Half { get; init; }

    /// <summary>Where the forward, backward and optimiser step run (gradient accumulation steps through it).</summary>
    internal TrainingPrecision? Precision { get; init; }

    /// <summary>The trainer's loss for each sample (cross-entropy, label-smoothed when configured): <c>[N]</c>.</summary>
    public Tensor PerSampleLoss(Tensor prediction, Tensor target) => _perSampleLoss(prediction, target);

    /// <summary>Skips the rest of this batch (after <see cref="LearnerCallback.BeforeStep"/>: no step, gradients kept).</summary>
    public void CancelBatch() => throw new CancelBatchSignal();

    /// <summary>Skips the rest of this epoch.</summary>
    public void CancelEpoch() => throw new CancelEpochSignal();

    /// <summary>Stops the fit after the current event (the callbacks' <c>AfterCancelFit</c> and <c>AfterFit</c> still run).</summary>
    public void CancelFit() => throw new CancelFitSignal();
}
