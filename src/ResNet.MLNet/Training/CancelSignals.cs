namespace ResNet.MLNet.Training;

/// <summary>Thrown by <see cref="LearnerState.CancelBatch"/>: the loop skips the rest of the batch (fastai's <c>CancelBatchException</c>).</summary>
internal sealed class CancelBatchSignal : Exception;

/// <summary>Thrown by <see cref="LearnerState.CancelEpoch"/>: the loop skips the rest of the epoch.</summary>
internal sealed class CancelEpochSignal : Exception;

/// <summary>Thrown by <see cref="LearnerState.CancelFit"/>: the loop stops the fit.</summary>
internal sealed class CancelFitSignal : Exception;
