using System.Globalization;

namespace ResNet.MLNet.Data;

/// <summary>Image file format written by <see cref="SyntheticImages"/>.</summary>
public enum SyntheticImageFormat
{
    /// <summary>JPEG files (<c>.jpg</c>), like most real photo datasets.</summary>
    Jpeg,

    /// <summary>Lossless PNG files (<c>.png</c>).</summary>
    Png,
}

/// <summary>Settings for <see cref="SyntheticImages"/>. The defaults make a small 10-class dataset that a plain CNN learns in a few epochs.</summary>
public sealed class SyntheticImagesOptions
{
    /// <summary>Number of classes (1 to <see cref="SyntheticImages.ClassNames"/>.Count); the first classes of that list are used.</summary>
    public int ClassCount { get; set; } = 10;

    /// <summary>Training images per class.</summary>
    public int TrainImagesPerClass { get; set; } = 150;

    /// <summary>Validation images per class (0 writes no validation folder).</summary>
    public int ValidImagesPerClass { get; set; } = 40;

    /// <summary>Smallest width or height in pixels; each side is drawn independently from [MinSize, MaxSize], so aspect ratios vary.</summary>
    public int MinSize { get; set; } = 64;

    /// <summary>Largest width or height in pixels.</summary>
    public int MaxSize { get; set; } = 96;

    /// <summary>Random seed: the same options give the same images.</summary>
    public int Seed { get; set; }

    /// <summary>File format of the images.</summary>
    public SyntheticImageFormat Format { get; set; } = SyntheticImageFormat.Jpeg;

    /// <summary>JPEG quality, 1 to 100.</summary>
    public int JpegQuality { get; set; } = 90;

    /// <summary>Standard deviation of the per-pixel noise, as a fraction of the 0..255 range (0 = none).</summary>
    public float NoiseLevel { get; set; } = 0.03f;

    /// <summary>Largest number of distracting strokes and blobs drawn behind and around the object.</summary>
    public int MaxClutter { get; set; } = 2;

    /// <summary>Name of the training folder.</summary>
    public string TrainName { get; set; } = ImageFolder.Defaults.TrainName;

    /// <summary>Name of the validation folder.</summary>
    public string ValidName { get; set; } = ImageFolder.Defaults.ValidName;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        int classes = SyntheticImages.ClassNames.Count;
        if (ClassCount < 1 || ClassCount > classes)
            throw new ArgumentException($"{nameof(ClassCount)} must be between 1 and {classes}; got {ClassCount}.", nameof(ClassCount));
        if (TrainImagesPerClass < 1)
            throw new ArgumentException($"{nameof(TrainImagesPerClass)} must be at least 1; got {TrainImagesPerClass}.", nameof(TrainImagesPerClass));
        if (ValidImagesPerClass < 0)
            throw new ArgumentException($"{nameof(ValidImagesPerClass)} must not be negative; got {ValidImagesPerClass}.", nameof(ValidImagesPerClass));
        if (MinSize < 16)
            throw new ArgumentException($"{nameof(MinSize)} must be at least 16 pixels; got {MinSize}.", nameof(MinSize));
        if (MaxSize < MinSize || MaxSize > 4096)
            throw new ArgumentException($"{nameof(MaxSize)} must be between {nameof(MinSize)} ({MinSize}) and 4096; got {MaxSize}.", nameof(MaxSize));
        if (JpegQuality < 1 || JpegQuality > 100)
            throw new ArgumentException($"{nameof(JpegQuality)} must be between 1 and 100; got {JpegQuality}.", nameof(JpegQuality));
        if (!(NoiseLevel >= 0 && NoiseLevel <= 1))
            throw new ArgumentException($"{nameof(NoiseLevel)} must be between 0 and 1; got {NoiseLevel}.", nameof(NoiseLevel));
        if (MaxClutter < 0)
            throw new ArgumentException($"{nameof(MaxClutter)} must not be negative; got {MaxClutter}.", nameof(MaxClutter));
        if (!Enum.IsDefined(Format))
            throw new ArgumentException($"{nameof(Format)} {Format} is not a known format.", nameof(Format));
        ValidateFolderName(TrainName, nameof(TrainName));
        ValidateFolderName(ValidName, nameof(ValidName));
        if (string.Equals(TrainName, ValidName, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{nameof(TrainName)} and {nameof(ValidName)} must differ; both are '{TrainName}'.", nameof(ValidName));
    }

    /// <summary>A copy of these options.</summary>
    public SyntheticImagesOptions Clone() => (SyntheticImagesOptions)MemberwiseClone();

    /// <summary>A canonical text of every option, used to name cached copies.</summary>
    internal string CacheKey() => string.Create(CultureInfo.InvariantCulture,
        $"v{SyntheticImages.GeneratorVersion};c{ClassCount};t{TrainImagesPerClass};v{ValidImagesPerClass};s{MinSize}-{MaxSize};seed{Seed};{Format};q{JpegQuality};n{NoiseLevel:R};k{MaxClutter};{TrainName};{ValidName}");

    private static void ValidateFolderName(string name, string option)
    {
        if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.IndexOfAny(['/', '\\']) >= 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"{option} must be a plain folder name; got '{name}'.", option);
    }
}
