namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>TrackerCallback</c> logic: follows one column of the epoch table and says when it improves by more than a
/// minimum delta — lower is better for names containing "loss" or "error", higher for the others.
/// </summary>
internal sealed class MetricTracker
{
    public MetricTracker(string monitor, double minDelta, string owner)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        if (!(minDelta >= 0) || double.IsInfinity(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"{owner}: the minimum improvement must be zero or a positive number.");
        Monitor = monitor;
        MinDelta = minDelta;
        LowerIsBetter = monitor.Contains("loss", StringComparison.OrdinalIgnoreCase) || monitor.Contains("error", StringComparison.OrdinalIgnoreCase);
        Owner = owner;
    }

    public string Monitor { get; }
    public double MinDelta { get; }
    public bool LowerIsBetter { get; }
    public string Owner { get; }

    /// <summary>The best value so far (none before the first epoch).</summary>
    public double? Best { get; private set; }

    public void Reset() => Best = null;

    /// <summary>Refuses a run without validation data unless the monitored column is the training loss.</summary>
    public void RequireData(bool hasValidation)
    {
        if (!hasValidation && Monitor != EpochMetrics.TrainLossColumn) throw NeedsValidation();
    }

    /// <summary>Reads the monitored value of <paramref name="m"/> and returns whether it is a new best.</summary>
    public bool Update(EpochMetrics m)
    {
        double value = ValueOf(m);
        bool better = Best is not double best || (LowerIsBetter ? value < best - MinDelta : value > best + MinDelta);
        if (better) Best = value;
        return better;
    }

    public double ValueOf(EpochMetrics m)
    {
        double? value = Monitor switch
        {
            EpochMetrics.ValidLossColumn => m.ValidLoss,
            EpochMetrics.AccuracyColumn => m.Accuracy,
            EpochMetrics.TrainLossColumn => m.TrainLoss,
            _ => m.Metrics.TryGetValue(Monitor, out var v) ? v : throw new ArgumentException(
                $"{Owner} monitors '{Monitor}', which is not a column of the epoch table ({EpochMetrics.TrainLossColumn}, {EpochMetrics.ValidLossColumn}, {EpochMetrics.AccuracyColumn}{string.Concat(m.Metrics.Keys.Select(k => ", " + k))})."),
        };
        return value ?? throw NeedsValidation();
    }

    private ArgumentException NeedsValidation() => new($"{Owner} monitors '{Monitor}', which needs validation data: " +
        $"set ValidationColumnName or ValidationSet, or monitor \"{EpochMetrics.TrainLossColumn}\".");
}
