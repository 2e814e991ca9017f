using System.Globalization;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>SaveModelCallback</c>: after every epoch whose monitored value (default "valid_loss"; "accuracy" or any
/// metric name works too) beats the best so far by more than <see cref="MinDelta"/>, keeps a copy of the weights; at the
/// end of the fit the model gets the best epoch's weights back, so the fitted transformer and model.zip hold them. The
/// epoch table says which epoch was best.
/// </summary>
public sealed class SaveBestModel : LearnerCallback, IMetricMonitor
{
    private readonly MetricTracker _tracker;
    private MemoryStream? _best;
    private int _bestEpoch = -1;

    /// <summary>Keeps the weights of the epoch with the best <paramref name="monitor"/>.</summary>
    public SaveBestModel(string monitor = EpochMetrics.ValidLossColumn, double minDelta = 0) => _tracker = new MetricTracker(monitor, minDelta, "SaveBestModel");

    /// <summary>The monitored column.</summary>
    public string Monitor => _tracker.Monitor;

    MetricTracker IMetricMonitor.Tracker => _tracker;

    /// <summary>The least improvement that counts.</summary>
    public double MinDelta => _tracker.MinDelta;

    /// <summary>The zero-based epoch whose weights are kept (-1 before the first epoch).</summary>
    public int BestEpoch => _bestEpoch;

    /// <inheritdoc />
    public override int Order => 60;

    /// <inheritdoc />
    public override void BeforeFit(LearnerState state)
    {
        _tracker.Reset();
        _best?.SetLength(0);
        _bestEpoch = -1;
    }

    /// <inheritdoc />
    public override void AfterEpoch(LearnerState state)
    {
        if (state.History.Count == 0 || state.History[^1].Epoch != state.Epoch) return;
        var m = state.History[^1];
        if (!_tracker.Update(m)) return;
        _best ??= new MemoryStream();
        _best.SetLength(0);
        using (var writer = new BinaryWriter(_best, System.Text.Encoding.UTF8, leaveOpen: true))
            state.Model.save(writer);
        state.Recorder!.MarkLatestBest();
        _bestEpoch = state.Epoch;
        state.Log.WriteLine($"Better model found at epoch {state.Epoch} with {Monitor} value: {_tracker.Best!.Value.ToString("G6", CultureInfo.InvariantCulture)}.");
    }

    /// <inheritdoc />
    public override void AfterFit(LearnerState state)
    {
        if (_best is null || _bestEpoch < 0 || state.History.Count == 0 || state.History[^1].Epoch == _bestEpoch) return;
        _best.Position = 0;
        using var reader = new BinaryReader(_best, System.Text.Encoding.UTF8, leaveOpen: true);
        state.Model.load(reader);
        state.Log.WriteLine($"SaveBestModel: the model keeps epoch {_bestEpoch}'s weights ({Monitor} {_tracker.Best!.Value.ToString("G6", CultureInfo.InvariantCulture)}).");
    }
}
