namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>fit_one_cycle</c> schedule: learning rate cosine-annealed from <c>max/div</c> up to <c>max</c> over the first
/// <see cref="PctStart"/> of training, then down to <c>max/divFinal</c>; momentum (Adam's β1) the mirror image,
/// 0.95 → 0.85 → 0.95. The position advances once per training batch.
/// </summary>
internal sealed class OneCycleSchedule
{
    /// <summary>Creates the schedule for a run peaking at <paramref name="maxLearningRate"/>.</summary>
    public OneCycleSchedule(double maxLearningRate, double pctStart = 0.25, double div = 25, double divFinal = 1e5,
        double maxMomentum = 0.95, double minMomentum = 0.85)
    {
        if (!(maxLearningRate > 0) || double.IsInfinity(maxLearningRate))
            throw new ArgumentOutOfRangeException(nameof(maxLearningRate), maxLearningRate, "The maximum learning rate must be a positive finite number.");
        if (!(pctStart > 0 && pctStart < 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "pct_start must lie strictly between 0 and 1.");
        MaxLearningRate = maxLearningRate;
        PctStart = pctStart;
        Div = div;
        DivFinal = divFinal;
        MaxMomentum = maxMomentum;
        MinMomentum = minMomentum;
    }

    /// <summary>Peak learning rate.</summary>
    public double MaxLearningRate { get; }

    /// <summary>Fraction of training spent warming up (fastai default 0.25).</summary>
    public double PctStart { get; }

    /// <summary>Initial learning rate is <c>MaxLearningRate / Div</c> (fastai default 25).</summary>
    public double Div { get; }

    /// <summary>Final learning rate is <c>MaxLearningRate / DivFinal</c> (fastai default 1e5).</summary>
    public double DivFinal { get; }

    /// <summary>Momentum at the start and end of training (fastai default 0.95).</summary>
    public double MaxMomentum { get; }

    /// <summary>Momentum at the learning-rate peak (fastai default 0.85).</summary>
    public double MinMomentum { get; }

    /// <summary>fastai's <c>SchedCos</c>: <c>start + (1 + cos(π(1 − p)))·(end − start)/2</c>.</summary>
    public static double Cosine(double start, double end, double p) => start + (1 + Math.Cos(Math.PI * (1 - p))) * (end - start) / 2;

    /// <summary>Learning rate at training progress <paramref name="position"/> ∈ [0, 1].</summary>
    public double LearningRate(double position) => Phase(position,
        MaxLearningRate / Div, MaxLearningRate, MaxLearningRate / DivFinal);

    /// <summary>Momentum (β1) at training progress <paramref name="position"/> ∈ [0, 1].</summary>
    public double Momentum(double position) => Phase(position, MaxMomentum, MinMomentum, MaxMomentum);

    private double Phase(double position, double start, double middle, double end)
    {
        position = Math.Clamp(position, 0, 1);
        return position < PctStart
            ? Cosine(start, middle, position / PctStart)
            : Cosine(middle, end, (position - PctStart) / (1 - PctStart));
    }
}
