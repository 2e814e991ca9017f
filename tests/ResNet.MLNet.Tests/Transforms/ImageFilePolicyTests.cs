using System.Buffers.Binary;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Transforms;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Transforms;

public sealed class ImageFilePolicyTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private string Png(string name, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(SKColors.Teal);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string path = _temp.Combine(name);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [Fact]
    public void TheDefaultLimitIsPillows() => Assert.Equal(89_478_485, ImageFilePolicy.DefaultMaxPixels);

    [Fact]
    public void AnImageAboveTheLimitIsRefusedNamingTheFileAndItsSize()
    {
        string path = Png("wide.png", 64, 48);

        ImageFilePolicy.Check(path, maxPixels: 64 * 48);
        var error = Assert.Throws<InvalidDataException>(() => ImageFilePolicy.Check(path, maxPixels: 1000));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("64×48 = 3,072 pixels, above the limit of 1,000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLimitIsCheckedFromTheHeaderBeforeDecoding()
    {
        // A few hundred bytes whose header claims 20000×20000 (400 MP): refused for its size, not for missing pixel data.
        byte[] png = File.ReadAllBytes(Png("small.png", 8, 8));
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 20_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 20_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        string bomb = _temp.Combine("bomb.png");
        File.WriteAllBytes(bomb, png);

        var error = Assert.Throws<InvalidDataException>(() => ImageFilePolicy.Check(bomb));

        Assert.Contains("20000×20000 = 400,000,000 pixels, above the limit of 89,478,485", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadImageFilesAppliesTheConfiguredLimitInTraining()
    {
        string path = Png("photo.png", 40, 40);
        var ml = new MLContext(seed: 0);
        var rows = ml.Data.LoadFromEnumerable(new[] { new ImageInput { ImagePath = path } });
        var loader = ml.Transforms.LoadImageFiles("Image", "ImagePath", maxPixels: 100).Fit(rows);

        var images = loader.Transform(rows);
        using var cursor = images.GetRowCursor(images.Schema);
        var image = cursor.GetGetter<MLImage>(images.Schema["Image"]);
        MLImage value = null!;

        var error = Assert.ThrowsAny<Exception>(() => { cursor.MoveNext(); image(ref value); });

        Assert.Contains("above the limit of 100", error.GetBaseException().Message + error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyTextAndTruncatedFilesAreRefusedNamingTheFile()
    {
        string empty = _temp.Combine("empty.jpg"), text = _temp.Combine("notes.jpg"), truncated = _temp.Combine("cut.png");
        File.WriteAllBytes(empty, []);
        File.WriteAllText(text, "not an image");
        byte[] png = File.ReadAllBytes(Png("whole.png", 64, 64));
        File.WriteAllBytes(truncated, png[..(png.Length / 2)]);

        foreach (string path in new[] { empty, text, truncated })
            Assert.Contains(path, Assert.Throws<InvalidDataException>(() => ImageFilePolicy.Check(path)).Message, StringComparison.Ordinal);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, reflected polynomial 0xEDB88320).</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    public void Dispose() => _temp.Dispose();
}
