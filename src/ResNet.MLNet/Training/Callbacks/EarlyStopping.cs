namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>EarlyStoppingCallback</c>: stops the fit once the monitored value (default "valid_loss") has not improved
/// by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs in a row.
/// </summary>
public sealed class EarlyStopping : LearnerCallback, IMetricMonitor
{
    private readonly MetricTracker _tracker;
    private int _wait;

    /// <summary>Stops after <paramref name="patience"/> epochs without improvement of <paramref name="monitor"/>.</summary>
    public EarlyStopping(string monitor = EpochMetrics.ValidLossColumn, double minDelta = 0, int patience = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        _tracker = new MetricTracker(monitor, minDelta, "EarlyStopping");
        Patience = patience;
    }

    /// <summary>The monitored column.</summary>
    public string Monitor => _tracker.Monitor;

    MetricTracker IMetricMonitor.Tracker => _tracker;

    /// <summary>The least improvement that counts.</summary>
    public double MinDelta => _tracker.MinDelta;

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>The zero-based epoch after which the fit stopped early, or null.</summary>
    public int? StoppedAfterEpoch { get; private set; }

    /// <inheritdoc />
    public override int Order => 65;

    /// <inheritdoc />
    public override void BeforeFit(LearnerState state)
    {
        _wait = 0;
        _tracker.Reset();
        StoppedAfterEpoch = null;
    }

    /// <inheritdoc />
    public override void AfterEpoch(LearnerState state)
    {
        if (state.History.Count == 0 || state.History[^1].Epoch != state.Epoch) return;
        _wait = _tracker.Update(state.History[^1]) ? 0 : _wait + 1;
        if (_wait < Patience || state.Epoch == state.Epochs - 1) return;
        StoppedAfterEpoch = state.Epoch;
        state.Log.WriteLine($"No improvement since epoch {state.Epoch - _wait}: early stopping.");
        state.CancelFit();
    }
}
