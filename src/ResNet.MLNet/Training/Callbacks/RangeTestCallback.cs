namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>LRFinder</c>: lr = start·(end/start)^(i/iterations) for training batch i, momentum 0.9; records the
/// smoothed loss of every batch; stops after <c>iterations</c> batches, or when the smoothed loss exceeds 4× its best
/// (with <c>stopOnDivergence</c>) or stops being finite. The model (weights and BatchNorm statistics), optimiser state
/// and loss scale are saved before the fit and restored after it.
/// </summary>
internal sealed class RangeTestCallback(Learner learner, double start, double end, int iterations, bool stopOnDivergence) : LearnerCallback
{
    private readonly SmoothedLoss _smoothed = new();
    private readonly MemoryStream _saved = new();
    private (double Scale, int CleanSteps) _savedScale;
    private double _best = double.PositiveInfinity;

    public List<double> LearningRates { get; } = [];
    public List<double> Losses { get; } = [];

    public override void BeforeFit(LearnerState state)
    {
        using (var writer = new BinaryWriter(_saved, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            learner.Model.save(writer);
            learner.Optimizer.Save(writer);
        }
        _savedScale = learner.Half is null ? (1.0, 0) : (learner.Half.Scaler.Scale, learner.Half.Scaler.CleanSteps);
    }

    public override void BeforeBatch(LearnerState state)
    {
        state.LearningRate = start * Math.Pow(end / start, (double)LearningRates.Count / iterations);
        state.Momentum = 0.9;
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
        learner.Model.load(reader);
        learner.Optimizer.Load(reader);
        learner.Optimizer.ZeroGrad();
        learner.Half?.Scaler.Restore(_savedScale.Scale, _savedScale.CleanSteps);
        learner.Half?.SyncAllFromMaster();
    }
}
