namespace ResNet.MLNet.Training;

/// <summary>Stops training with <see cref="TrainingDivergedException"/> when a training batch's loss is NaN or infinite.</summary>
internal sealed class DivergenceGuard : LearnerCallback
{
    public override int Order => 90;

    public override void AfterLoss(LearnerState state)
    {
        if (state.Training && !double.IsFinite(state.LossValue))
            throw new TrainingDivergedException(state.Epoch, state.Batch, state.LossValue, state.LearningRate);
    }
}
