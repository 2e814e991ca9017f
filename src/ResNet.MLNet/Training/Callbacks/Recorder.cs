using System.Diagnostics;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>Recorder</c>, one per run (its state carries over fine_tune's two fits and a resumed run): smooths the
/// training loss (never reset between epochs), times each epoch's training steps, training pass and validation pass,
/// accumulates the validation loss and the metrics (accuracy, then the run's) over the whole validation set, and after every epoch
/// adds its <see cref="EpochMetrics"/> to the history, writes the table row to <paramref name="log"/> and reports it.
/// </summary>
internal sealed class Recorder(TextWriter log, string? validDescription, IReadOnlyList<Metric> metrics, Action<EpochMetrics> report) : LearnerCallback
{
    /// <summary>Accuracy first (the table's own column), then the run's metrics.</summary>
    private readonly Metric[] _metrics = [new Accuracy(), .. metrics];
    private readonly List<EpochMetrics> _history = [];
    private readonly double[] _metricSums = new double[metrics.Count + 1];
    private EpochTable? _table;
    private long _epochStart, _passStart, _stepStart, _validationStart;
    private TimeSpan _steps, _trainingPass, _validation;
    private double _lossSum;
    private long _count;

    public override int Order => 50;

    /// <summary>The smoothed training loss (checkpointed).</summary>
    public SmoothedLoss Smoothed { get; } = new();

    /// <summary>The metrics of every epoch recorded so far.</summary>
    public IReadOnlyList<EpochMetrics> History => _history;

    private EpochTable Table => _table ??= new EpochTable(log);

    /// <summary>Takes the history and smoothed loss of a checkpoint.</summary>
    public void Restore(IEnumerable<EpochMetrics> history, int smoothedCount, double smoothedRawAverage)
    {
        _history.Clear();
        _history.AddRange(history);
        Smoothed.Restore(smoothedCount, smoothedRawAverage);
    }

    /// <summary>Writes the table rows of the history so far (a resumed run shows the epochs it continues from).</summary>
    public void WriteTable()
    {
        foreach (var m in _history) Table.Write(m);
    }

    /// <summary>Marks the latest epoch as the one whose weights the model keeps (<see cref="EpochMetrics.IsBest"/>), and no other.</summary>
    public void MarkLatestBest()
    {
        for (int i = 0; i < _history.Count; i++)
        {
            bool best = i == _history.Count - 1;
            if (_history[i].IsBest != best) _history[i] = _history[i] with { IsBest = best };
        }
    }

    public override void BeforeEpoch(LearnerState state)
    {
        _epochStart = Stopwatch.GetTimestamp();
        _steps = _trainingPass = _validation = TimeSpan.Zero;
        _lossSum = 0;
        _count = 0;
        Array.Clear(_metricSums);
    }

    public override void BeforeTrain(LearnerState state) => _passStart = Stopwatch.GetTimestamp();

    public override void BeforeBatch(LearnerState state)
    {
        if (state.Training) _stepStart = Stopwatch.GetTimestamp();
    }

    public override void AfterBatch(LearnerState state)
    {
        if (state.Training) _steps += Stopwatch.GetElapsedTime(_stepStart);
        if (state.Loss is null) return;
        if (state.Training)
        {
            Smoothed.Add(state.LossValue);
            return;
        }
        var prediction = state.Prediction!;
        var target = state.Target!;
        long n = target.shape[0];
        _lossSum += state.LossValue * n;
        _count += n;
        using var scope = NewDisposeScope();
        for (int i = 0; i < _metrics.Length; i++)
            _metricSums[i] += _metrics[i].PerSample(prediction, target).to(ScalarType.Float64).sum().item<double>();
    }

    public override void AfterTrain(LearnerState state) => _trainingPass = Stopwatch.GetElapsedTime(_passStart);

    public override void BeforeValidate(LearnerState state) => _validationStart = Stopwatch.GetTimestamp();

    public override void AfterValidate(LearnerState state)
    {
        _validation = Stopwatch.GetElapsedTime(_validationStart);
        if (_count == 0)
            throw new ArgumentException($"{validDescription ?? "The validation data"} hold no rows; give validation rows or leave the validation options unset.");
    }

    public override void AfterEpoch(LearnerState state)
    {
        bool validated = validDescription is not null && _count > 0;
        var m = new EpochMetrics(state.Epoch, Smoothed.Value, validated ? _lossSum / _count : null,
            validated ? _metricSums[0] / _count : null, Stopwatch.GetElapsedTime(_epochStart))
        {
            StepTime = _steps,
            DataTime = _trainingPass - _steps,
            ValidationTime = _validation,
            Metrics = validated ? metrics.Select((metric, i) => (metric.Name, _metricSums[i + 1] / _count)).ToDictionary() : new Dictionary<string, double>(),
        };
        _history.Add(m);
        Table.Write(m);
        report(m);
    }
}
