namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>GradientAccumulation</c>: gradients of <see cref="Batches"/> consecutive training batches are summed
/// (each batch's loss weighted by 1/<see cref="Batches"/> for the backward pass) and the optimiser steps once, as if on
/// one batch of <see cref="Batches"/> times the batch size. The recorded loss stays each batch's own. Every training
/// pass starts a new count; batches left over at its end (all of them when an epoch has fewer than
/// <see cref="Batches"/>) get one step of their own, with the mean of their gradients.
/// </summary>
public sealed class GradientAccumulation : LearnerCallback
{
    private int _count;
    private double? _pendingScale;

    /// <summary>Steps once every <paramref name="batches"/> training batches.</summary>
    public GradientAccumulation(int batches)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 1);
        Batches = batches;
    }

    /// <summary>Training batches per optimiser step.</summary>
    public int Batches { get; }

    /// <inheritdoc />
    public override void BeforeTrain(LearnerState state) => _count = 0;

    /// <inheritdoc />
    public override void BeforeBackward(LearnerState state) => state.BackwardScale = 1.0 / Batches;

    /// <inheritdoc />
    public override void BeforeStep(LearnerState state)
    {
        if (++_count < Batches)
        {
            _pendingScale = (double)Batches / _count;   // turns the gradients' sum into their mean
            state.CancelBatch();                         // keep the gradients, skip the step and zero_grad
        }
        _pendingScale = null;
        _count = 0;
    }

    /// <summary>Steps with the gradients of the pass's last batches that never reached a step, so none is lost or carried into the next epoch.</summary>
    public override void AfterTrain(LearnerState state)
    {
        if (_pendingScale is not double scale) return;
        _pendingScale = null;
        state.Precision!.StepAccumulated(scale, state.LearningRate, state.Momentum);
    }
}
