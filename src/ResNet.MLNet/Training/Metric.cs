using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// A validation metric averaged over the validation set, batch-size weighted (fastai's <c>AvgMetric</c>): its value is
/// the mean of <see cref="PerSample"/> over every validation row. Add instances to <c>ResNetTrainer.Options.Metrics</c>;
/// each becomes a column of the epoch table and an entry of <see cref="EpochMetrics.Metrics"/>.
/// </summary>
public abstract class Metric
{
    /// <summary>Creates a metric shown as <paramref name="name"/>.</summary>
    protected Metric(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The column name (e.g. "error_rate").</summary>
    public string Name { get; }

    /// <summary>The metric's value for each sample of a batch: <c>[N]</c>, from logits <c>[N, C]</c> and class indices <c>[N]</c>.</summary>
    public abstract Tensor PerSample(Tensor prediction, Tensor target);
}

/// <summary>
/// fastai's <c>accuracy</c>: whether the highest score is the true class. Every run measures it (the epoch table's
/// <see cref="EpochMetrics.AccuracyColumn"/> column, <see cref="EpochMetrics.Accuracy"/>).
/// </summary>
internal sealed class Accuracy : Metric
{
    public Accuracy() : base(EpochMetrics.AccuracyColumn) { }

    public override Tensor PerSample(Tensor prediction, Tensor target) => prediction.argmax(1).eq(target).to(ScalarType.Float32);
}

/// <summary>fastai's <c>error_rate</c>: 1 − accuracy.</summary>
public sealed class ErrorRate : Metric
{
    /// <summary>Creates the metric ("error_rate").</summary>
    public ErrorRate() : base("error_rate") { }

    /// <inheritdoc />
    public override Tensor PerSample(Tensor prediction, Tensor target) => prediction.argmax(1).ne(target).to(ScalarType.Float32);
}

/// <summary>fastai's <c>top_k_accuracy</c>: whether the true class is among the <c>k</c> highest scores.</summary>
public sealed class TopKAccuracy : Metric
{
    /// <summary>Creates the metric for <paramref name="k"/> (default 5), shown as "top_k_accuracy" (k = 5) or "top_{k}_accuracy".</summary>
    public TopKAccuracy(int k = 5) : base(k == 5 ? "top_k_accuracy" : $"top_{k}_accuracy")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
    }

    /// <summary>How many of the highest scores count.</summary>
    public int K { get; }

    /// <inheritdoc />
    public override Tensor PerSample(Tensor prediction, Tensor target)
    {
        var top = prediction.topk((int)Math.Min(K, prediction.shape[1]), dim: 1).indexes;
        return top.eq(target.unsqueeze(1)).any(1).to(ScalarType.Float32);
    }
}
