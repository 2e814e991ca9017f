using SkiaSharp;

namespace ResNet.MLNet.Tests.Transforms;

/// <summary>Tiny images drawn with SkiaSharp for the transform tests, in a temporary folder deleted on dispose.</summary>
internal sealed class TestImages : IDisposable
{
    public TestImages() => Folder = Directory.CreateTempSubdirectory("resnet-mlnet-transforms-").FullName;

    public string Folder { get; }

    /// <summary>Writes a <paramref name="width"/>×<paramref name="height"/> image whose pixel (x, y) is <paramref name="color"/>(x, y).</summary>
    public string Write(string name, int width, int height, Func<int, int, SKColor> color, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, color(x, y));
        string path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, Encode(bitmap, format));
        return path;
    }

    /// <summary>An image whose colour varies with position (red grows with x, green with y, blue is a diagonal stripe).</summary>
    public string Gradient(string name, int width, int height, int seed = 0, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Write(name, width, height, (x, y) => new SKColor((byte)(255 * x / Math.Max(1, width - 1)), (byte)(255 * y / Math.Max(1, height - 1)),
            (byte)((x + y + seed * 37) % 7 < 3 ? 220 : 30)), format);

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        return data.ToArray();
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }
}
