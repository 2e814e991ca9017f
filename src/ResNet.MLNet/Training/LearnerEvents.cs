namespace ResNet.MLNet.Training;

/// <summary>
/// The callbacks of one fit in their <see cref="LearnerCallback.Order"/> (then the order given): raises an event to each
/// callback it concerns, and runs a step of the loop between its before and after events (fastai's <c>_with_events</c>).
/// </summary>
internal sealed class LearnerEvents(IEnumerable<LearnerCallback> callbacks, LearnerState state)
{
    private readonly LearnerCallback[] _ordered = callbacks.OrderBy(c => c.Order).ToArray();

    /// <summary>
    /// Calls <paramref name="e"/> on every callback; batch events only on those that run in the current pass
    /// (<see cref="LearnerCallback.RunsInTraining"/>, <see cref="LearnerCallback.RunsInValidation"/>). A callback's
    /// exception (other than a cancellation, a stop request or a divergence) comes back naming the callback and the event.
    /// </summary>
    public void Raise(LearnerEvent e)
    {
        bool batchEvent = e is >= LearnerEvent.BeforeBatch and <= LearnerEvent.AfterBatch;
        foreach (var callback in _ordered)
        {
            if (batchEvent && !(state.Training ? callback.RunsInTraining : callback.RunsInValidation)) continue;
            try
            {
                callback.Handle(e, state);
            }
            catch (Exception ex) when (ex is not (CancelSignal or OperationCanceledException or TrainingDivergedException))
            {
                throw new InvalidOperationException($"The callback {callback.GetType().Name} failed in {e}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>
    /// Raises <paramref name="before"/>, runs <paramref name="step"/>, then raises <paramref name="after"/>. When
    /// <paramref name="cancellable"/>, a callback's request to cancel this step (the signal whose event it names) ends it
    /// early: that event is raised, then still <paramref name="after"/>.
    /// </summary>
    public void WithEvents(LearnerEvent before, Action step, LearnerEvent after, LearnerEvent? cancellable = null)
    {
        try
        {
            Raise(before);
            step();
        }
        catch (CancelSignal signal) when (signal.Cancelled == cancellable)
        {
            Raise(signal.Cancelled);
        }
        Raise(after);
    }
}
