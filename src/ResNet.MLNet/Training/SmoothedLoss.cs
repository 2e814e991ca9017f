namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>AvgSmoothLoss</c>: an exponential moving average of the training loss, debiased by <c>1 − β^k</c>
/// after <c>k</c> values (β 0.98). The trainer never resets it between epochs, as fastai's recorder does not.
/// </summary>
internal sealed class SmoothedLoss
{
    private double _average;

    /// <summary>Creates a smoother with decay <paramref name="beta"/>.</summary>
    public SmoothedLoss(double beta = 0.98)
    {
        if (!(beta >= 0 && beta < 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "β must lie in [0, 1).");
        Beta = beta;
    }

    /// <summary>The decay β.</summary>
    public double Beta { get; }

    /// <summary>Number of losses seen.</summary>
    public int Count { get; private set; }

    /// <summary>The debiased smoothed loss (NaN before the first value).</summary>
    public double Value => Count == 0 ? double.NaN : _average / (1 - Math.Pow(Beta, Count));

    /// <summary>The biased running average (for checkpoints).</summary>
    internal double RawAverage => _average;

    /// <summary>Restores the state saved in a checkpoint.</summary>
    internal void Restore(int count, double rawAverage)
    {
        Count = count;
        _average = rawAverage;
    }

    /// <summary>Adds one batch loss and returns the new smoothed value.</summary>
    public double Add(double loss)
    {
        Count++;
        _average = Beta * _average + (1 - Beta) * loss;
        return Value;
    }
}
