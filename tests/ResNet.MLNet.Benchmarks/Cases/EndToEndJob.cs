using ResNet.MLNet.Benchmarks.Harness;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>One end-to-end training job: its total time, epochs, images trained on per epoch and validated, and layout.</summary>
public sealed record EndToEndJob(double TotalSeconds, IReadOnlyList<EndToEndJob.Epoch> Epochs, int TrainImages, int ValidImages, string Format)
{
    /// <summary>One epoch's split: the whole epoch, waiting for data, training steps, the validation pass; and its metrics.</summary>
    public sealed record Epoch(double Seconds, double DataSeconds, double StepSeconds, double ValidSeconds, double ValidLoss, double Accuracy);

    /// <summary>Our side only: the train command's evaluation and saving after the fit.</summary>
    public double AfterFitSeconds { get; init; }

    /// <summary>Our side only: the train command's evaluation after the fit (ML.NET's evaluation of the fitted model on the validation rows).</summary>
    public double EvaluationSeconds { get; init; }

    /// <summary>Our side only: the whole train command's wall time.</summary>
    public double CommandSeconds { get; init; }

    private IEnumerable<Epoch> Steady => Epochs.Count > 1 ? Epochs.Skip(1) : Epochs;
    private double SteadyMedian(Func<Epoch, double> value) => new Sample(Steady.Select(value).ToArray()).Median;

    /// <summary>Everything before the second epoch: decode, cache fill, layout tuning and the first epoch.</summary>
    public double FirstEpochSeconds => TotalSeconds - Epochs.Skip(1).Sum(e => e.Seconds);
    public double SteadyEpochSeconds => SteadyMedian(e => e.Seconds);
    public double SteadyDataSeconds => SteadyMedian(e => e.DataSeconds);
    public double SteadyStepSeconds => SteadyMedian(e => e.StepSeconds);
    public double SteadyValidSeconds => SteadyMedian(e => e.ValidSeconds);
    public double SteadyTrainingImagesPerSecond => SteadyMedian(e => TrainImages / (e.DataSeconds + e.StepSeconds));
    public double Accuracy => Epochs[^1].Accuracy;
    public double ValidLoss => Epochs[^1].ValidLoss;
}
