namespace ResNet.MLNet.Transforms;

/// <summary>
/// The one set of checks every image goes through, in training (<c>LoadImageFiles</c>) as in the CLI's
/// <c>evaluate</c> and <c>predict</c>: the file must be readable, non-empty, a supported format, no larger than
/// <see cref="DefaultMaxPixels"/> (or the limit given; read from the header, before decoding) and decode completely
/// (a truncated file is refused). Every failure is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
public static class ImageFilePolicy
{
    /// <summary>
    /// The default pixel limit, 89,478,485 (about 9,459 × 9,459): Pillow's <c>MAX_IMAGE_PIXELS</c>, which keeps a small
    /// crafted file from expanding into gigabytes of pixels.
    /// </summary>
    public const long DefaultMaxPixels = 1024L * 1024 * 1024 / 4 / 3;

    /// <summary>Applies the checks to the image file at <paramref name="path"/> (decoding it once).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">Largest width × height accepted.</param>
    /// <exception cref="InvalidDataException">The file fails a check; the message names it.</exception>
    public static void Check(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var image = ImageDecoder.DecodeFile(path, maxPixels);
    }

    internal static void CheckLimit(long maxPixels)
    {
        if (maxPixels < 1) throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, "The pixel limit must be at least 1.");
    }
}
