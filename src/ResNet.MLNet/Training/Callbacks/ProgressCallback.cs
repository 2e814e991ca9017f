using System.Globalization;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Training;

/// <summary>fastai's <c>ProgressCallback</c>: a live progress bar on the log over each training pass with the smoothed loss.</summary>
internal sealed class ProgressCallback : LearnerCallback
{
    private ConsoleProgressBar? _bar;

    public override int Order => 60;

    public override bool RunsInValidation => false;

    public override void BeforeTrain(LearnerState state) => _bar = new ConsoleProgressBar(state.Log, $"epoch {state.Epoch}", state.BatchesPerEpoch);

    public override void AfterBatch(LearnerState state) =>
        _bar?.Update(state.Batch + 1, " " + state.SmoothedLoss.ToString("F4", CultureInfo.InvariantCulture));

    public override void AfterTrain(LearnerState state)
    {
        _bar?.Clear();
        _bar = null;
    }
}
