namespace ResNet.MLNet.Training;

/// <summary>
/// Stops training with <see cref="TrainingDivergedException"/> when a training batch's loss is NaN or infinite, when the
/// smoothed training loss blows up without reaching NaN (above <see cref="Factor"/> × the reference loss, which is the
/// fit's first training batch loss, or ln(classes) (a uniform guess's loss) when that is larger), or when an epoch's
/// validation loss is NaN or infinite. A large but finite validation loss does not stop training, as in fastai: a
/// network trained from scratch with BatchNorm can show one early and recover. Runs after the recorder (which smooths
/// the loss and records the epoch) and before the callbacks that keep a model (best model, checkpoints), so a diverged
/// epoch is never kept.
/// </summary>
internal sealed class DivergenceGuard(int classCount) : LearnerCallback
{
    /// <summary>How many times the reference loss a loss may reach.</summary>
    public const double Factor = 100;

    private double? _limit;

    public override int Order => 55;

    /// <summary>The loss above which the fit stops (known after the first training batch).</summary>
    public double? Limit => _limit;

    public override bool RunsInValidation => false;

    public override void AfterLoss(LearnerState state)
    {
        if (!double.IsFinite(state.LossValue))
            throw new TrainingDivergedException(state.Epoch, state.Batch, state.LossValue, state.LearningRate);
    }

    public override void AfterBatch(LearnerState state)
    {
        if (state.Loss is not null)
            CheckTraining(state.LossValue, state.SmoothedLoss, state.Epoch, state.Batch, state.LearningRate);
    }

    public override void AfterEpoch(LearnerState state)
    {
        if (state.History.Count > 0 && state.History[^1] is { ValidLoss: double loss } m && m.Epoch == state.Epoch)
            CheckValidation(loss, state.Epoch, state.LearningRate);
    }

    /// <summary>A training batch: its raw loss must be finite, and the smoothed loss within the limit.</summary>
    internal void CheckTraining(double loss, double smoothedLoss, int epoch, int batch, double learningRate)
    {
        if (!double.IsFinite(loss)) throw new TrainingDivergedException(epoch, batch, loss, learningRate);
        _limit ??= Factor * Math.Max(loss, Math.Log(Math.Max(2, classCount)));
        if (!(smoothedLoss <= _limit))
            throw new TrainingDivergedException(epoch, batch, smoothedLoss, learningRate, "the smoothed training loss", _limit.Value);
    }

    /// <summary>An epoch's validation loss: it must be finite.</summary>
    internal static void CheckValidation(double loss, int epoch, double learningRate)
    {
        if (!double.IsFinite(loss)) throw TrainingDivergedException.NonFiniteValidationLoss(epoch, loss, learningRate);
    }
}
