namespace ResNet.MLNet.Training;

/// <summary>
/// The recording half of fastai's <c>LRFinder</c> (the schedule is <see cref="ParamScheduler.RangeTest"/>): records the
/// learning rate and smoothed loss of every batch; stops after <c>iterations</c> batches, or when the smoothed loss
/// exceeds 4× its best (with <c>stopOnDivergence</c>) or stops being finite. The model (weights and BatchNorm
/// statistics), optimiser state and loss scale are saved before the fit and restored after it.
/// </summary>
internal sealed class RangeTestCallback(int iterations, bool stopOnDivergence) : LearnerCallback
{
    private readonly SmoothedLoss _smoothed = new();
    private readonly MemoryStream _saved = new();
    private (double Scale, int CleanSteps) _savedScale;
    private double _best = double.PositiveInfinity;

    public List<double> LearningRates { get; } = [];
    public List<double> Losses { get; } = [];

    public override bool RunsInValidation => false;

    public override void BeforeFit(LearnerState state)
    {
        using (var writer = new BinaryWriter(_saved, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            state.Model.save(writer);
            state.Optimizer!.Save(writer);
        }
        _savedScale = state.Half is null ? (1.0, 0) : (state.Half.Scaler.Scale, state.Half.Scaler.CleanSteps);
    }

    public override void AfterBatch(LearnerState state)
    {
        if (state.Loss is null) return;
        double loss = state.LossValue;
        double smooth = double.IsFinite(loss) ? _smoothed.Add(loss) : double.NaN;
        LearningRates.Add(state.LearningRate);
        Losses.Add(smooth);
        if (smooth < _best) _best = smooth;
        if (LearningRates.Count >= iterations || !double.IsFinite(smooth) || (stopOnDivergence && smooth > 4 * _best))
            state.CancelFit();
    }

    public override void AfterFit(LearnerState state)
    {
        _saved.Position = 0;
        using var reader = new BinaryReader(_saved);
        state.Model.load(reader);
        state.Optimizer!.Load(reader);
        state.Optimizer.ZeroGrad();
        state.Half?.Scaler.Restore(_savedScale.Scale, _savedScale.CleanSteps);
        state.Half?.SyncAllFromMaster();
    }
}
