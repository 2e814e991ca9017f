namespace ResNet.MLNet.Transforms;

/// <summary>Padding used where an augmented image samples outside its source (fastai's <c>PadMode</c>).</summary>
public enum PadMode
{
    /// <summary>Mirror the image at its border (fastai's default).</summary>
    Reflection,
    /// <summary>Repeat the border pixels.</summary>
    Border,
    /// <summary>Black.</summary>
    Zeros,
}

/// <summary>Interpolation used when resampling an augmented image.</summary>
public enum InterpolationMode
{
    /// <summary>Bilinear (fastai's default).</summary>
    Bilinear,
    /// <summary>Nearest neighbour.</summary>
    Nearest,
}

/// <summary>
/// Options of <c>AugmentImages</c>: fastai's <c>aug_transforms</c> parameters with the same defaults. Each image
/// draws its own parameters on training passes; scoring only crops the largest centred square and resizes it to
/// <see cref="Size"/>.
/// </summary>
public sealed class AugmentOptions
{
    /// <summary>Output side length in pixels (fastai <c>size</c>); null keeps the input's height and width.</summary>
    public int? Size { get; set; }

    /// <summary>Random-resized-crop: smallest fraction of the image area kept (fastai <c>min_scale</c>, in (0, 1]).</summary>
    public float MinScale { get; set; } = 1f;

    /// <summary>Multiplies <see cref="MaxRotate"/>, <see cref="MaxLighting"/> and <see cref="MaxWarp"/> (fastai <c>mult</c>).</summary>
    public float Multiplier { get; set; } = 1f;

    /// <summary>Random horizontal flip with probability 0.5 (fastai <c>do_flip</c>).</summary>
    public bool DoFlip { get; set; } = true;

    /// <summary>With <see cref="DoFlip"/>: any of the 8 dihedral flips/rotations instead of a horizontal flip (fastai <c>flip_vert</c>).</summary>
    public bool FlipVertical { get; set; }

    /// <summary>Largest rotation in degrees, either way (fastai <c>max_rotate</c>).</summary>
    public float MaxRotate { get; set; } = 10f;

    /// <summary>Smallest zoom factor (fastai <c>min_zoom</c>).</summary>
    public float MinZoom { get; set; } = 1f;

    /// <summary>Largest zoom factor (fastai <c>max_zoom</c>).</summary>
    public float MaxZoom { get; set; } = 1.1f;

    /// <summary>Largest brightness/contrast change (fastai <c>max_lighting</c>, in [0, 1)).</summary>
    public float MaxLighting { get; set; } = 0.2f;

    /// <summary>Largest perspective warp magnitude (fastai <c>max_warp</c>, in [0, 1)).</summary>
    public float MaxWarp { get; set; } = 0.2f;

    /// <summary>Probability of each of rotate, zoom and warp (fastai <c>p_affine</c>).</summary>
    public float PAffine { get; set; } = 0.75f;

    /// <summary>Probability of each of brightness and contrast (fastai <c>p_lighting</c>).</summary>
    public float PLighting { get; set; } = 0.75f;

    /// <summary>Padding where the transformed image samples outside the source (fastai <c>pad_mode</c>).</summary>
    public PadMode PadMode { get; set; } = PadMode.Reflection;

    /// <summary>Resampling interpolation (fastai <c>mode</c>).</summary>
    public InterpolationMode Mode { get; set; } = InterpolationMode.Bilinear;

    /// <summary>Corner pixels' centres map to the corners of the sampling grid (fastai <c>align_corners</c>).</summary>
    public bool AlignCorners { get; set; } = true;

    /// <summary>One draw of parameters for a whole batch instead of one per image (fastai <c>batch</c>).</summary>
    public bool SameForBatch { get; set; }

    /// <summary>Images augmented together in one tensor operation on a training pass.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>A copy of these options.</summary>
    public AugmentOptions Clone() => (AugmentOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Size is { } size && size <= 0)
            throw new ArgumentOutOfRangeException(nameof(Size), size, "AugmentOptions.Size must be > 0 (or null to keep the input size).");
        if (!(MinScale > 0 && MinScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinScale), MinScale, "AugmentOptions.MinScale must be in (0, 1].");
        if (!(Multiplier >= 0) || !float.IsFinite(Multiplier))
            throw new ArgumentOutOfRangeException(nameof(Multiplier), Multiplier, "AugmentOptions.Multiplier must be finite and ≥ 0.");
        if (!(MaxRotate >= 0) || !float.IsFinite(MaxRotate))
            throw new ArgumentOutOfRangeException(nameof(MaxRotate), MaxRotate, "AugmentOptions.MaxRotate must be finite and ≥ 0 (degrees).");
        if (!(MinZoom > 0) || !float.IsFinite(MaxZoom) || MaxZoom < MinZoom)
            throw new ArgumentOutOfRangeException(nameof(MinZoom), MinZoom, $"AugmentOptions needs 0 < MinZoom ≤ MaxZoom (MaxZoom = {MaxZoom}).");
        if (!(MaxLighting >= 0 && MaxLighting * Multiplier < 1))
            throw new ArgumentOutOfRangeException(nameof(MaxLighting), MaxLighting, "AugmentOptions.MaxLighting (times Multiplier) must be in [0, 1).");
        if (!(MaxWarp >= 0 && MaxWarp * Multiplier < 1))
            throw new ArgumentOutOfRangeException(nameof(MaxWarp), MaxWarp, "AugmentOptions.MaxWarp (times Multiplier) must be in [0, 1).");
        if (!(PAffine >= 0 && PAffine <= 1))
            throw new ArgumentOutOfRangeException(nameof(PAffine), PAffine, "AugmentOptions.PAffine is a probability and must be in [0, 1].");
        if (!(PLighting >= 0 && PLighting <= 1))
            throw new ArgumentOutOfRangeException(nameof(PLighting), PLighting, "AugmentOptions.PLighting is a probability and must be in [0, 1].");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "AugmentOptions.BatchSize must be ≥ 1.");
        if (!Enum.IsDefined(PadMode))
            throw new ArgumentOutOfRangeException(nameof(PadMode), PadMode, "Unknown AugmentOptions.PadMode.");
        if (!Enum.IsDefined(Mode))
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown AugmentOptions.Mode.");
    }
}
