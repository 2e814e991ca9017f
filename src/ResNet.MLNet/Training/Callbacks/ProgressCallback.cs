namespace ResNet.MLNet.Training;

/// <summary>fastai's <c>ProgressCallback</c>: a live progress bar over each training pass with the smoothed loss.</summary>
internal sealed class ProgressCallback(Learner learner, TextWriter output) : LearnerCallback
{
    private ProgressBar? _bar;

    public override int Order => 60;

    public override void BeforeTrain(LearnerState state) => _bar = new ProgressBar(output, $"epoch {state.Epoch}", state.BatchesPerEpoch);

    public override void AfterBatch(LearnerState state)
    {
        if (state.Training) _bar?.Update(state.Batch + 1, learner.Smoothed.Value);
    }

    public override void AfterTrain(LearnerState state)
    {
        _bar?.Clear();
        _bar = null;
    }
}
