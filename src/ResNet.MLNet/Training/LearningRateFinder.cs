using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>lr_find</c>: trains on the training rows with the learning rate growing exponentially from
/// <see cref="StartLearningRate"/> to <see cref="EndLearningRate"/> over <see cref="Iterations"/> batches (momentum 0.9),
/// stops early once the smoothed loss exceeds 4× the best, then restores the weights, BatchNorm statistics and optimiser
/// state. Uses the trainer's options (data columns, architecture, batch size, device, seed) so the suggestion fits the run.
/// </summary>
/// <example><code>
/// var result = new LearningRateFinder(trainerOptions).Find(preprocessing, data.All);   // the pipeline up to the trainer
/// LearningRatePlot.SavePng(result, "lr_find.png");
/// trainerOptions.MaxLearningRate = (float)result.Valley;
/// </code></example>
public sealed class LearningRateFinder
{
    private readonly ResNetTrainer.Options _options;

    /// <summary>Creates a finder for a run configured by <paramref name="options"/>.</summary>
    public LearningRateFinder(ResNetTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ResNetTrainer.Validate(options);
        _options = options;
    }

    /// <summary>First learning rate (fastai 1e-7).</summary>
    public double StartLearningRate { get; set; } = 1e-7;

    /// <summary>Last learning rate (fastai 10).</summary>
    public double EndLearningRate { get; set; } = 10;

    /// <summary>Planned iterations (fastai 100).</summary>
    public int Iterations { get; set; } = 100;

    /// <summary>Stop once the smoothed loss exceeds 4× its best (fastai <c>stop_div</c>). Default true.</summary>
    public bool StopOnDivergence { get; set; } = true;

    /// <summary>
    /// Fits <paramref name="preprocessing"/> (the pipeline that would precede the trainer) on <paramref name="data"/> and runs
    /// the range test on its output the way the trainer reads it: through the chain's cache checkpoints, so each image is
    /// decoded once however many passes the test makes.
    /// </summary>
    public LearningRateFinderResult Find<TLastTransformer>(EstimatorChain<TLastTransformer> preprocessing, IDataView data)
        where TLastTransformer : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(preprocessing);
        ArgumentNullException.ThrowIfNull(data);
        var rangeTest = new RangeTestEstimator(this);
        preprocessing.Append(rangeTest).Fit(data);
        return rangeTest.Result!;
    }

    /// <summary>Runs the range test on the training rows of an already preprocessed <paramref name="input"/> (validation rows are not used).</summary>
    public LearningRateFinderResult Find(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!(StartLearningRate > 0 && EndLearningRate > StartLearningRate) || double.IsInfinity(EndLearningRate))
            throw new ArgumentOutOfRangeException(nameof(StartLearningRate), "LearningRateFinder needs 0 < StartLearningRate < EndLearningRate < ∞.");
        if (Iterations < 10) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "LearningRateFinder needs at least 10 iterations.");
        using var run = ResNetTrainer.PrepareRangeTest(_options, input);
        return RangeTest(run, StartLearningRate, EndLearningRate, Iterations, StopOnDivergence, _options.CancellationToken);
    }

    /// <summary>
    /// fastai's LR range test over the training rows of <paramref name="run"/>, as many epochs as it needs: a fit with the
    /// range-test <see cref="ParamScheduler"/> and a <see cref="RangeTestCallback"/>, which restores the model, optimiser
    /// and loss scale afterwards.
    /// </summary>
    internal static LearningRateFinderResult RangeTest(TrainingRun run, double start, double end, int iterations, bool stopOnDivergence,
        CancellationToken cancellation)
    {
        var test = new RangeTestCallback(iterations, stopOnDivergence);
        int epochs = (int)Math.Ceiling((double)iterations / Math.Max(1, run.BatchesPerEpoch));
        run.Fit(epochs, startEpoch: 0, [ParamScheduler.RangeTest(start, end, iterations), test], cancellation);
        return new LearningRateFinderResult([.. test.LearningRates], [.. test.Losses], iterations);
    }

    /// <summary>The range test as the last step of a chain: ML.NET hands it the chain's output, cache checkpoints included.</summary>
    private sealed class RangeTestEstimator(LearningRateFinder finder) : IEstimator<ITransformer>
    {
        public LearningRateFinderResult? Result { get; private set; }

        public ITransformer Fit(IDataView input)
        {
            Result = finder.Find(input);
            return new TransformerChain<ITransformer>();
        }

        public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inputSchema;
    }
}
