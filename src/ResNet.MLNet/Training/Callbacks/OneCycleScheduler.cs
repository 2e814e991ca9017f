namespace ResNet.MLNet.Training;

/// <summary>fastai's <c>fit_one_cycle</c> schedule as a callback: sets the learning rate and momentum before every training batch from the fit's progress.</summary>
internal sealed class OneCycleScheduler(OneCycleSchedule schedule) : LearnerCallback
{
    public override int Order => -10;

    public override void BeforeBatch(LearnerState state)
    {
        if (!state.Training) return;
        state.LearningRate = schedule.LearningRate(state.TrainingProgress);
        state.Momentum = schedule.Momentum(state.TrainingProgress);
    }
}
