namespace ResNet.MLNet.Training;

/// <summary>
/// A callback's request to skip the rest of a batch, an epoch or the fit (fastai's <c>Cancel…Exception</c>s): the loop
/// catches it where that step ends and raises <see cref="Cancelled"/> there.
/// </summary>
internal abstract class CancelSignal(LearnerEvent cancelled) : Exception
{
    /// <summary>The event the loop raises when it catches this signal.</summary>
    public LearnerEvent Cancelled { get; } = cancelled;
}

/// <summary>Thrown by <see cref="LearnerState.CancelBatch"/>: the loop skips the rest of the batch.</summary>
internal sealed class CancelBatchSignal() : CancelSignal(LearnerEvent.AfterCancelBatch);

/// <summary>Thrown by <see cref="LearnerState.CancelEpoch"/>: the loop skips the rest of the epoch.</summary>
internal sealed class CancelEpochSignal() : CancelSignal(LearnerEvent.AfterCancelEpoch);

/// <summary>Thrown by <see cref="LearnerState.CancelFit"/>: the loop stops the fit.</summary>
internal sealed class CancelFitSignal() : CancelSignal(LearnerEvent.AfterCancelFit);
