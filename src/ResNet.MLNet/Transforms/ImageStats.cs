namespace ResNet.MLNet.Transforms;

/// <summary>Per-channel (R, G, B) mean and standard deviation of images scaled to 0..1 (fastai's <c>*_stats</c>).</summary>
public sealed class ImageStats
{
    /// <summary>ImageNet statistics: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).</summary>
    public static ImageStats ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Creates statistics from three means and three standard deviations (R, G, B, on the 0..1 scale).</summary>
    /// <exception cref="ArgumentException">Not three values each, a non-finite value, or a standard deviation ≤ 0.</exception>
    public ImageStats(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count != 3 || std.Count != 3)
            throw new ArgumentException($"ImageStats needs 3 means and 3 standard deviations (R, G, B); got {mean.Count} and {std.Count}.");
        if (mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException("ImageStats means must be finite.", nameof(mean));
        if (std.Any(s => !float.IsFinite(s) || s <= 0))
            throw new ArgumentException("ImageStats standard deviations must be finite and > 0.", nameof(std));
        Mean = mean.ToArray();
        Std = std.ToArray();
    }

    /// <summary>Channel means (R, G, B).</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Channel standard deviations (R, G, B).</summary>
    public IReadOnlyList<float> Std { get; }

    /// <inheritdoc />
    public override string ToString() => $"mean ({string.Join(", ", Mean)}), std ({string.Join(", ", Std)})";
}
