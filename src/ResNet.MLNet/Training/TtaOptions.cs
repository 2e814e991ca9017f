namespace ResNet.MLNet.Training;

/// <summary>Options of <see cref="TestTimeAugmentation.Predict"/> (fastai's <c>learn.tta(n, beta, use_max)</c>).</summary>
public sealed class TtaOptions
{
    /// <summary>Number of augmented passes (fastai's <c>n</c>). Default 4.</summary>
    public int Passes { get; set; } = 4;

    /// <summary>
    /// Weight of the plain pass: the result is <c>lerp(augmented mean, plain, Beta)</c> = (1 − Beta)·mean + Beta·plain.
    /// Default 0.25; 0 uses the augmented mean alone.
    /// </summary>
    public float Beta { get; set; } = 0.25f;

    /// <summary>Return the element-wise maximum over the augmented passes instead (fastai's <c>use_max</c>).</summary>
    public bool UseMax { get; set; }

    /// <summary>Seed of the first augmented pass; pass i uses <c>Seed + i</c>.</summary>
    public int Seed { get; set; }

    /// <summary>The probabilities column the model outputs.</summary>
    public string ScoreColumnName { get; set; } = ResNetTransformer.ScoreColumnName;

    internal void Validate()
    {
        if (Passes < 1) throw new ArgumentOutOfRangeException(nameof(Passes), Passes, "TTA needs at least 1 augmented pass.");
        if (!(Beta >= 0 && Beta <= 1)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "TTA's Beta must be between 0 and 1.");
        ArgumentException.ThrowIfNullOrWhiteSpace(ScoreColumnName);
    }
}
