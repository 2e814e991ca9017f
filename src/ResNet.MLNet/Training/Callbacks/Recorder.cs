using System.Diagnostics;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>Recorder</c>: smooths the training loss, accumulates the validation loss, accuracy and the run's metrics
/// over the whole validation set, and after every epoch adds its <see cref="EpochMetrics"/> to the history, writes the
/// table row and reports it.
/// </summary>
internal sealed class Recorder(Learner learner, string? validDescription, IReadOnlyList<Metric> metrics, Action<EpochMetrics> report) : LearnerCallback
{
    private long _epochStart;
    private double _lossSum;
    private long _correct, _count;
    private readonly double[] _metricSums = new double[metrics.Count];

    public override int Order => 50;

    public override void BeforeEpoch(LearnerState state)
    {
        _epochStart = Stopwatch.GetTimestamp();
        _lossSum = 0;
        _correct = _count = 0;
        Array.Clear(_metricSums);
    }

    public override void AfterBatch(LearnerState state)
    {
        if (state.Loss is null) return;
        if (state.Training)
        {
            learner.Smoothed.Add(state.LossValue);
            return;
        }
        var prediction = state.Prediction!;
        var target = state.Target!;
        long n = target.shape[0];
        _lossSum += state.LossValue * n;
        _count += n;
        using var scope = NewDisposeScope();
        _correct += prediction.argmax(1).eq(target).sum().item<long>();
        for (int i = 0; i < metrics.Count; i++)
            _metricSums[i] += metrics[i].PerSample(prediction, target).to(ScalarType.Float64).sum().item<double>();
    }

    public override void AfterValidate(LearnerState state)
    {
        if (_count == 0)
            throw new ArgumentException($"{validDescription ?? "The validation data"} hold no rows; give validation rows or leave the validation options unset.");
    }

    public override void AfterEpoch(LearnerState state)
    {
        var times = learner.EpochTimes;
        bool validated = validDescription is not null && _count > 0;
        var m = new EpochMetrics(state.Epoch, learner.Smoothed.Value, validated ? _lossSum / _count : null,
            validated ? (double)_correct / _count : null, Stopwatch.GetElapsedTime(_epochStart))
        {
            StepTime = times.Steps,
            DataTime = times.TrainingPass - times.Steps,
            ValidationTime = times.Validation,
            Metrics = validated ? metrics.Select((metric, i) => (metric.Name, _metricSums[i] / _count)).ToDictionary() : new Dictionary<string, double>(),
        };
        learner.History.Add(m);
        learner.Table.Write(m);
        report(m);
    }
}
