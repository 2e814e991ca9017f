using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Transforms;

public class LoadAndNormalizeTests
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class BytesRow
    {
        public byte[] Bytes { get; set; } = [];
    }

    private static byte[][] Tensors(MLContext ml, IDataView data, string inputColumn = "ImagePath", int size = 4)
    {
        var pipeline = ml.Transforms.LoadImageFiles("Image", inputColumn)
            .Append(ml.Transforms.PresizeImages("Image", size, ResizeMethod.Squish))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"));
        var scored = pipeline.Fit(data).Transform(data);
        var type = Assert.IsType<VectorDataViewType>(scored.Schema["Pixels"].Type);
        Assert.Equal(NumberDataViewType.Byte, type.ItemType);
        Assert.Equal([3, size, size], type.Dimensions.ToArray());
        return scored.GetColumn<byte[]>("Pixels").ToArray();
    }

    [Fact]
    public void GrayscaleAndAlphaImagesBecomePlanarRgb()
    {
        using var images = new TestImages();
        string rgb = images.Write("rgb.png", 4, 4, (_, _) => new SKColor(200, 100, 50));
        string gray;
        using (var bitmap = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            bitmap.Erase(new SKColor(90, 90, 90));
            gray = Path.Combine(images.Folder, "gray.jpg");
            File.WriteAllBytes(gray, TestImages.Encode(bitmap, SKEncodedImageFormat.Jpeg));
        }

        string alpha = images.Write("alpha.png", 4, 4, (_, _) => new SKColor(10, 240, 120, 255));
        // A 1×1 palette (indexed-colour) GIF whose only colour is red.
        string palette = Path.Combine(images.Folder, "palette.gif");
        File.WriteAllBytes(palette, Convert.FromBase64String("R0lGODlhAQABAIAAAP8AAP///yH5BAAAAAAALAAAAAABAAEAAAICRAEAOw=="));
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { rgb, gray, alpha, palette }.Select(p => new PathRow { ImagePath = p }));
        var pixels = Tensors(ml, data);
        Assert.Equal(Enumerable.Repeat((byte)255, 16).Concat(Enumerable.Repeat((byte)0, 32)), pixels[3]);

        Assert.Equal(Enumerable.Repeat((byte)200, 16).Concat(Enumerable.Repeat((byte)100, 16)).Concat(Enumerable.Repeat((byte)50, 16)), pixels[0]);
        Assert.Equal(48, pixels[1].Length);
        Assert.All(pixels[1], v => Assert.InRange(v, 85, 95));
        Assert.Equal(new byte[] { 10, 240, 120 }, new[] { pixels[2][0], pixels[2][16], pixels[2][32] });
    }

    [Fact]
    public void TransparentPixelsAreCompositedOnBlackInTrainingAsInModelZipsStockChain()
    {
        using var images = new TestImages();
        string path = Path.Combine(images.Folder, "transparent.png");
        // Left half fully transparent over a stored (200, 100, 50); right half half transparent over the same colour.
        File.WriteAllBytes(path, RawPng.Rgba(4, 4, (x, _) => (200, 100, 50, x < 2 ? (byte)0 : (byte)128)));
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new PathRow { ImagePath = path } });

        byte[] training = Tensors(ml, data)[0];
        byte[] stock = ml.Transforms.LoadImages("Image", null, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 4, 4, "Image"))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Rgb, outputAsFloatArray: false))
            .Fit(data).Transform(data).GetColumn<byte[]>("Pixels").Single();

        Assert.Equal(stock, training);
        Assert.Equal(new byte[] { 0, 0, 100, 100 }, training[..4]);        // red, first row: alpha 0 → black, alpha 128 → half
        Assert.Equal(new byte[] { 0, 0, 25, 25 }, training[32..36]);      // blue, first row
    }

    [Fact]
    public void EncodedBytesDecodeLikeFiles()
    {
        using var images = new TestImages();
        var paths = new[] { images.Gradient("a.png", 9, 6), images.Gradient("b.jpg", 6, 9, 1, SKEncodedImageFormat.Jpeg) };
        var ml = new MLContext(seed: 0);
        var fromFiles = Tensors(ml, ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p })));
        var fromBytes = Tensors(ml, ml.Data.LoadFromEnumerable(paths.Select(p => new BytesRow { Bytes = File.ReadAllBytes(p) })), "Bytes");
        Assert.Equal(fromFiles, fromBytes);

        // ML.NET's LoadImages (the persisted form) reads only paths, so a bytes pipeline says so when saved.
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new BytesRow { Bytes = File.ReadAllBytes(p) }));
        var model = ml.Transforms.LoadImageFiles("Image", "Bytes").Fit(data);
        var error = Assert.Throws<NotSupportedException>(() => ml.Model.Save(model, data.Schema, Path.Combine(images.Folder, "m.zip")));
        Assert.Contains("path column", error.Message);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("truncated")]
    [InlineData("garbage")]
    [InlineData("missing")]
    public void BadImagesAreErrorsNamingTheFile(string kind)
    {
        using var images = new TestImages();
        string good = images.Gradient("good.jpg", 32, 32, 0, SKEncodedImageFormat.Jpeg);
        string bad = Path.Combine(images.Folder, $"bad-{kind}.jpg");
        switch (kind)
        {
            case "empty": File.WriteAllBytes(bad, []); break;
            case "truncated": File.WriteAllBytes(bad, File.ReadAllBytes(good)[..(int)(new FileInfo(good).Length / 2)]); break;
            case "garbage": File.WriteAllText(bad, "this is not an image"); break;
        }

        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { good, bad }.Select(p => new PathRow { ImagePath = p }));
        var loaded = ml.Transforms.LoadImageFiles("Image", "ImagePath").Fit(data).Transform(data);
        var error = Assert.Throws<InvalidDataException>(() => loaded.GetColumn<MLImage>("Image").ToList());
        Assert.Contains(bad, error.Message);
    }

    [Fact]
    public void WrongOrMissingColumnsAndBadOptionsAreClearErrors()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new { X = 1f } });

        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.LoadImageFiles("Image", "X").Fit(data));
        Assert.Contains("'X'", wrongType.Message);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.LoadImageFiles("Image", "Path").Fit(data));
        Assert.Contains("'Path'", missing.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.PresizeImages("Image", 16).Fit(data));
        var notPixels = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.AugmentImages("X").Fit(data));
        Assert.Contains("[3, H, W]", notPixels.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.NormalizeImages("X").Fit(data));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ImagesToTensor("P", "X").Fit(data));

        var size = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.PresizeImages("Image", 0));
        Assert.Contains("size", size.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.AugmentImages("P", new AugmentOptions { Size = -1 }));
        foreach (var (options, name) in new (AugmentOptions, string)[]
        {
            (new() { MinScale = 0 }, "MinScale"), (new() { MinScale = 1.5f }, "MinScale"),
            (new() { PAffine = -0.1f }, "PAffine"), (new() { PAffine = 1.1f }, "PAffine"),
            (new() { PLighting = 2 }, "PLighting"), (new() { PLighting = float.NaN }, "PLighting"),
            (new() { MaxLighting = 1 }, "MaxLighting"), (new() { MinZoom = 1.2f }, "MinZoom"),
        })
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.AugmentImages("P", options));
            Assert.Equal(name, error.ParamName);
        }

        Assert.Throws<ArgumentException>(() => new ImageStats([0.5f, 0.5f], [0.2f, 0.2f, 0.2f]));
        Assert.Throws<ArgumentException>(() => new ImageStats([0.5f, 0.5f, 0.5f], [0.2f, 0f, 0.2f]));
    }

    private sealed class PixelRow
    {
        [VectorType(3, 2, 2)] public byte[] Pixels { get; set; } = [];
    }

    [Fact]
    public void NormalisationGivesTheExpectedPerChannelValuesOnEveryPass()
    {
        var ml = new MLContext(seed: 0);
        byte[] pixels = [255, 255, 255, 255, 0, 0, 0, 0, 128, 128, 64, 64];
        var data = ml.Data.LoadFromEnumerable(new[] { new PixelRow { Pixels = pixels } });
        var normalized = ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet).Fit(data).Transform(data);
        var type = Assert.IsType<VectorDataViewType>(normalized.Schema["Pixels"].Type);
        Assert.Equal([3, 2, 2], type.Dimensions.ToArray());

        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var expected = pixels.Select((p, i) => (p / 255f - mean[i / 4]) / std[i / 4]).ToArray();
        foreach (var rand in new Random?[] { null, new Random(1) })
        {
            using var cursor = normalized.GetRowCursor([normalized.Schema["Pixels"]], rand);
            var getter = cursor.GetGetter<VBuffer<float>>(normalized.Schema["Pixels"]);
            Assert.True(cursor.MoveNext());
            VBuffer<float> value = default;
            getter(ref value);
            var actual = value.DenseValues().ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
        }

        Assert.Equal((1 - 0.485f) / 0.229f, expected[0], 5);
    }
}
