namespace ResNet.MLNet.Training;

/// <summary>Calls a delegate with (epoch, batch, loss) after every training batch (the options' internal test hook).</summary>
internal sealed class BatchLossHook(Action<int, int, double> afterBatch) : LearnerCallback
{
    public override int Order => 80;

    public override bool RunsInValidation => false;

    public override void AfterBatch(LearnerState state)
    {
        if (state.Loss is not null) afterBatch(state.Epoch, state.Batch, state.LossValue);
    }
}
