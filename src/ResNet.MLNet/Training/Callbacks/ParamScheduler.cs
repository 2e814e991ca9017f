namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>ParamScheduler</c>: before every training batch, sets the learning rate and momentum (Adam's β1) from
/// schedules of the position p ∈ [0, 1] the fit has reached. Two kinds of fit compose it:
/// <list type="bullet">
/// <item><see cref="OneCycle"/> — <c>fit_one_cycle</c>, and both fits of <c>fine_tune</c>: p is the fraction of the fit's
/// training batches done; each parameter follows two cosine phases (<see cref="CombinedCosine"/>).</item>
/// <item><see cref="RangeTest"/> — <c>lr_find</c>: p is the batch count over the planned iterations; the learning rate
/// grows exponentially, momentum stays 0.9.</item>
/// </list>
/// </summary>
internal sealed class ParamScheduler : LearnerCallback
{
    private readonly Func<double, double> _learningRate;
    private readonly Func<double, double> _momentum;
    private readonly long? _iterations;

    private ParamScheduler(Func<double, double> learningRate, Func<double, double> momentum, long? iterations)
    {
        _learningRate = learningRate;
        _momentum = momentum;
        _iterations = iterations;
    }

    /// <summary>
    /// fastai's <c>fit_one_cycle</c> schedule: learning rate from <c>max/div</c> up to <paramref name="maxLearningRate"/>
    /// over the first <paramref name="pctStart"/> of training, then down to <c>max/divFinal</c>; momentum the mirror image,
    /// <paramref name="maxMomentum"/> → <paramref name="minMomentum"/> → <paramref name="maxMomentum"/>.
    /// </summary>
    public static ParamScheduler OneCycle(double maxLearningRate, double pctStart = 0.25, double div = 25, double divFinal = 1e5,
        double maxMomentum = 0.95, double minMomentum = 0.85)
    {
        if (!(maxLearningRate > 0) || double.IsInfinity(maxLearningRate))
            throw new ArgumentOutOfRangeException(nameof(maxLearningRate), maxLearningRate, "The maximum learning rate must be a positive finite number.");
        if (!(pctStart > 0 && pctStart < 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "pct_start must lie strictly between 0 and 1.");
        return new(CombinedCosine(pctStart, maxLearningRate / div, maxLearningRate, maxLearningRate / divFinal),
            CombinedCosine(pctStart, maxMomentum, minMomentum, maxMomentum), iterations: null);
    }

    /// <summary>fastai's <c>LRFinder</c> schedule: lr = start·(end/start)^(i/iterations) at training batch i, momentum 0.9.</summary>
    public static ParamScheduler RangeTest(double start, double end, int iterations) =>
        new(p => Exponential(start, end, p), _ => 0.9, iterations);

    /// <summary>Runs before the other callbacks' batch events, so they see this batch's values.</summary>
    public override int Order => -10;

    public override bool RunsInValidation => false;

    public override void BeforeBatch(LearnerState state)
    {
        double position = _iterations is long n ? (double)state.Iteration / n : state.TrainingProgress;
        state.LearningRate = LearningRate(position);
        state.Momentum = Momentum(position);
    }

    /// <summary>The learning rate at position <paramref name="position"/>.</summary>
    public double LearningRate(double position) => _learningRate(position);

    /// <summary>The momentum at position <paramref name="position"/>.</summary>
    public double Momentum(double position) => _momentum(position);

    /// <summary>
    /// fastai's <c>combined_cos</c>: <see cref="Cosine"/> from <paramref name="start"/> to <paramref name="middle"/> over the
    /// first <paramref name="pct"/> of the positions, then from <paramref name="middle"/> to <paramref name="end"/>.
    /// </summary>
    public static Func<double, double> CombinedCosine(double pct, double start, double middle, double end) => position =>
    {
        position = Math.Clamp(position, 0, 1);
        return position < pct
            ? Cosine(start, middle, position / pct)
            : Cosine(middle, end, (position - pct) / (1 - pct));
    };

    /// <summary>fastai's <c>SchedCos</c>: <c>start + (1 + cos(π(1 − p)))·(end − start)/2</c>.</summary>
    public static double Cosine(double start, double end, double p) => start + (1 + Math.Cos(Math.PI * (1 - p))) * (end - start) / 2;

    /// <summary>fastai's <c>SchedExp</c>: <c>start·(end/start)^p</c>.</summary>
    public static double Exponential(double start, double end, double p) => start * Math.Pow(end / start, p);
}
