namespace ResNet.MLNet.Training;

/// <summary>One row of fastai's epoch table: what the trainer measured after an epoch.</summary>
/// <param name="Epoch">Zero-based epoch index, as fastai prints it.</param>
/// <param name="TrainLoss">Smoothed training loss at the end of the epoch (β 0.98, debiased, never reset).</param>
/// <param name="ValidLoss">Mean cross-entropy over the whole validation set; null without validation data.</param>
/// <param name="Accuracy">Accuracy over the whole validation set; null without validation data.</param>
/// <param name="Duration">Wall-clock time of the epoch (training and validation).</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double? ValidLoss, double? Accuracy, TimeSpan Duration)
{
    /// <summary>The epoch table's name of <see cref="TrainLoss"/>, as a monitor of <c>SaveBestModel</c> and <c>EarlyStopping</c> spells it.</summary>
    public const string TrainLossColumn = "train_loss";

    /// <summary>The epoch table's name of <see cref="ValidLoss"/>.</summary>
    public const string ValidLossColumn = "valid_loss";

    /// <summary>The epoch table's name of <see cref="Accuracy"/>.</summary>
    public const string AccuracyColumn = "accuracy";

    /// <summary>Part of <see cref="Duration"/> spent in training steps (forward, backward, optimiser).</summary>
    public TimeSpan StepTime { get; init; }

    /// <summary>Part of <see cref="Duration"/> spent producing training batches (reading, augmenting, normalising, batching).</summary>
    public TimeSpan DataTime { get; init; }

    /// <summary>Part of <see cref="Duration"/> spent in the validation pass (its data and its forward passes).</summary>
    public TimeSpan ValidationTime { get; init; }

    /// <summary>The validation values of the run's other metrics (<c>Options.Metrics</c>), by name.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Whether this epoch's weights are the ones kept (<c>SaveBestModel</c>: the best epoch so far).</summary>
    public bool IsBest { get; init; }
}
