namespace ResNet.MLNet.Training;

/// <summary>A callback that follows a column of the epoch table (save-best, early stopping): the trainer checks before a run that the column will be there.</summary>
internal interface IMetricMonitor
{
    /// <summary>The column followed and how.</summary>
    MetricTracker Tracker { get; }
}
