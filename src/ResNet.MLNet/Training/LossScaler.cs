namespace ResNet.MLNet.Training;

/// <summary>
/// Dynamic loss scaling as fastai's <c>to_fp16</c> does it: start at 2^16, halve and skip the step when gradients
/// overflow (inf/NaN), double after <see cref="GrowthInterval"/> consecutive clean steps.
/// </summary>
internal sealed class LossScaler(double initialScale = 65536, int growthInterval = 2000)
{
    public double Scale { get; private set; } = initialScale;
    public int GrowthInterval { get; } = growthInterval;
    public int CleanSteps { get; private set; }
    public long SkippedSteps { get; private set; }

    /// <summary>Records one step's gradient check; returns true when the optimiser step should be applied.</summary>
    public bool Update(bool gradientsOverflowed)
    {
        if (gradientsOverflowed)
        {
            Scale = Math.Max(Scale / 2, 1);
            CleanSteps = 0;
            SkippedSteps++;
            return false;
        }
        if (++CleanSteps >= GrowthInterval)
        {
            Scale *= 2;
            CleanSteps = 0;
        }
        return true;
    }

    public void Restore(double scale, int cleanSteps)
    {
        Scale = scale;
        CleanSteps = cleanSteps;
    }
}
