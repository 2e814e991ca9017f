using System.Globalization;
using Microsoft.ML.Data;
using SkiaSharp;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Decodes encoded images (JPEG, PNG, GIF, BMP, WebP…) into ML.NET's <see cref="MLImage"/> with the same pixels as
/// ML.NET's <c>LoadImages</c> (SkiaSharp decoding, premultiplied alpha, 32-bit RGBA/BGRA, so grayscale, palette
/// and CMYK images come out as colour), but strictly: empty, unreadable, oversized (more pixels than the limit,
/// read from the header before anything is decoded) or truncated data is an error naming the source.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>Reads and decodes the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is missing, not a regular file, empty, not an image, above the pixel limit, or truncated.</exception>
    public static MLImage DecodeFile(string path, long maxPixels = ImageFilePolicy.DefaultMaxPixels)
    {
        IO.FileKind.RequireRegular(path, "image file");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidDataException($"Cannot read image file '{path}': {e.Message}", e);
        }

        return Decode(bytes, $"image file '{path}'", maxPixels);
    }

    /// <summary>Decodes encoded image bytes; <paramref name="source"/> names them in errors.</summary>
    /// <exception cref="InvalidDataException">The data is empty, not an image, above the pixel limit, or truncated.</exception>
    public static MLImage Decode(ReadOnlySpan<byte> encoded, string source, long maxPixels = ImageFilePolicy.DefaultMaxPixels)
    {
        if (encoded.IsEmpty)
            throw new InvalidDataException($"Cannot decode {source}: it is empty (0 bytes).");
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        if (codec is null)
            throw new InvalidDataException($"Cannot decode {source}: not a supported image format (or the header is corrupt).");

        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
            throw new InvalidDataException($"Cannot decode {source}: it has no pixels ({info.Width}×{info.Height}).");
        if ((long)info.Width * info.Height > maxPixels)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Refusing to decode {source}: it is {info.Width}×{info.Height} = {(long)info.Width * info.Height:N0} pixels, above the " +
                $"limit of {maxPixels:N0} (a decompression bomb?); raise the limit if the image is genuine."));
        if (info.AlphaType == SKAlphaType.Unpremul) info.AlphaType = SKAlphaType.Premul;
        info.ColorSpace = null;
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            string reason = result == SKCodecResult.IncompleteInput ? "the file is truncated" : $"decoding failed ({result})";
            throw new InvalidDataException($"Cannot decode {source}: {reason}.");
        }

        return ToMLImage(bitmap, source);
    }

    /// <summary>Wraps a decoded bitmap (any colour type) as an <see cref="MLImage"/>.</summary>
    public static MLImage ToMLImage(SKBitmap bitmap, string source)
    {
        if (bitmap.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888)
            return MLImage.CreateFromPixels(bitmap.Width, bitmap.Height,
                bitmap.ColorType == SKColorType.Bgra8888 ? MLPixelFormat.Bgra32 : MLPixelFormat.Rgba32, bitmap.GetPixelSpan());
        if (!bitmap.CanCopyTo(SKColorType.Bgra8888))
            throw new InvalidDataException($"Cannot decode {source}: its pixel format {bitmap.ColorType} cannot be converted to RGB.");
        using var converted = bitmap.Copy(SKColorType.Bgra8888);
        return MLImage.CreateFromPixels(converted.Width, converted.Height, MLPixelFormat.Bgra32, converted.GetPixelSpan());
    }

    /// <summary>Copies an <see cref="MLImage"/> into a new SkiaSharp bitmap (caller disposes it).</summary>
    public static unsafe SKBitmap ToBitmap(MLImage image)
    {
        var colorType = image.PixelFormat == MLPixelFormat.Rgba32 ? SKColorType.Rgba8888 : SKColorType.Bgra8888;
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, colorType, SKAlphaType.Premul));
        image.Pixels.CopyTo(new Span<byte>((void*)bitmap.GetPixels(), bitmap.ByteCount));
        return bitmap;
    }
}
