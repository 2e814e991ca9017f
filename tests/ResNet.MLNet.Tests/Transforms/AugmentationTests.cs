using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Transforms;

public class AugmentationTests
{
    public AugmentationTests() => NativeMemoryTuning.Apply();

    private static float[] Ramp(int h, int w) =>
        Enumerable.Range(0, 3 * h * w).Select(i => (i % (h * w) % w) / (float)(w - 1) * 0.5f + (i / (h * w)) * 0.2f + (i % (h * w) / w) * 0.01f).ToArray();

    private static float[] Run(BatchAugmenter augmenter, float[] image, ImageAugmentation augmentation)
    {
        using var scope = NewDisposeScope();
        var input = tensor(image, [1, 3, augmenter.Height, augmenter.Width]);
        return augmenter.Apply(input, [augmentation]).data<float>().ToArray();
    }

    [Fact]
    public void HorizontalFlipMirrorsTheImage()
    {
        const int h = 6, w = 9;
        var augmenter = new BatchAugmenter(new AugmentOptions(), h, w);
        var image = Ramp(h, w);
        var flipped = Run(augmenter, image, ImageAugmentation.Identity(w, h) with { Dihedral = 1 });
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    Assert.Equal(image[(c * h + y) * w + (w - 1 - x)], flipped[(c * h + y) * w + x], 5);
        Assert.NotEqual(image, flipped);
    }

    [Fact]
    public void RandomFlipsHappenAboutHalfTheTimeAndOnlyFlip()
    {
        const int h = 7, w = 7;
        var options = new AugmentOptions { MaxRotate = 0, MaxZoom = 1, MaxWarp = 0, MaxLighting = 0, BatchSize = 64 };
        var augmenter = new BatchAugmenter(options, h, w);
        var image = Ramp(h, w);
        using var scope = NewDisposeScope();
        var inputs = tensor(image, [1, 3, h, w]).expand(64, 3, h, w).contiguous();
        var outputs = augmenter.Augment(inputs, new Random(5));
        var mirrored = Run(augmenter, image, ImageAugmentation.Identity(w, h) with { Dihedral = 1 });
        int flips = 0;
        for (int i = 0; i < 64; i++)
        {
            var values = outputs[i].data<float>().ToArray();
            bool same = values.Zip(image).All(p => Math.Abs(p.First - p.Second) < 1e-5);
            bool flipped = values.Zip(mirrored).All(p => Math.Abs(p.First - p.Second) < 1e-5);
            Assert.True(same ^ flipped);
            if (flipped) flips++;
        }

        Assert.InRange(flips, 16, 48);
    }

    /// <summary>A dark image with a bright 3×3 marker centred on pixel (mx, my).</summary>
    private static float[] Marker(int size, int mx, int my)
    {
        var image = new float[3 * size * size];
        for (int c = 0; c < 3; c++)
            for (int y = my - 1; y <= my + 1; y++)
                for (int x = mx - 1; x <= mx + 1; x++)
                    image[(c * size + y) * size + x] = 1f;
        return image;
    }

    private static (double X, double Y) Centroid(float[] image, int size)
    {
        double sum = 0, sx = 0, sy = 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double v = image[y * size + x];
                sum += v;
                sx += v * x;
                sy += v * y;
            }

        return (sx / sum, sy / sum);
    }

    [Theory]
    [InlineData(90, 1, 0, 0)]
    [InlineData(30, 1, 0, 0)]
    [InlineData(0, 0.8, 0.1, -0.15)]
    [InlineData(-20, 0.9, -0.05, 0.05)]
    public void RotationAndZoomMoveAMarkerWhereTheMatrixSays(double degrees, double scale, double cx, double cy)
    {
        const int size = 41, mx = 28, my = 14;
        var augmenter = new BatchAugmenter(new AugmentOptions(), size, size);
        var augmentation = ImageAugmentation.Identity(size, size) with
        {
            RotateDegrees = degrees, ZoomScale = scale, ZoomCenterX = cx, ZoomCenterY = cy,
        };
        var output = Run(augmenter, Marker(size, mx, my), augmentation);
        var (ox, oy) = Centroid(output, size);

        // The matrix maps the output position (normalised, align_corners) to the source position it samples.
        var m = augmentation.Matrix(size, size, alignCorners: true);
        double u = 2 * ox / (size - 1) - 1, v = 2 * oy / (size - 1) - 1;
        double sx = m[0] * u + m[1] * v + m[2], sy = m[3] * u + m[4] * v + m[5];
        double px = (sx + 1) / 2 * (size - 1), py = (sy + 1) / 2 * (size - 1);
        Assert.InRange(px, mx - 0.5, mx + 0.5);
        Assert.InRange(py, my - 0.5, my + 0.5);
        // And the marker really moved (except where the map fixes it).
        if (degrees != 0) Assert.True(Math.Abs(ox - mx) + Math.Abs(oy - my) > 2, $"marker stayed at ({ox}, {oy})");
    }

    [Fact]
    public void LightingIsNeutralAtHalfBrightnessAndUnitContrastAndStaysInRange()
    {
        const int h = 8, w = 8;
        var augmenter = new BatchAugmenter(new AugmentOptions(), h, w);
        var random = new Random(3);
        var image = Enumerable.Range(0, 3 * h * w).Select(_ => (float)random.NextDouble()).ToArray();
        image[0] = 0;
        image[1] = 1;

        var neutral = Run(augmenter, image, ImageAugmentation.Identity(w, h) with { Brightness = 0.5, Contrast = 1 });
        for (int i = 0; i < image.Length; i++) Assert.Equal(image[i], neutral[i], 5);

        var brighter = Run(augmenter, image, ImageAugmentation.Identity(w, h) with { Brightness = 0.6, Contrast = 1 });
        Assert.True(brighter.Average() > image.Average() + 0.02);
        var strong = Run(augmenter, image, ImageAugmentation.Identity(w, h) with { Brightness = 0.6, Contrast = 1.25 });
        var weak = Run(augmenter, image, ImageAugmentation.Identity(w, h) with { Brightness = 0.4, Contrast = 0.8 });
        Assert.All(strong.Concat(weak).Concat(brighter), v => Assert.InRange(v, 0f, 1f));
        // Brightness b and contrast c follow sigmoid(c · (logit(x) + logit(b))).
        double x = image[5], expected = 1 / (1 + Math.Exp(-1.25 * (Math.Log(x / (1 - x)) + Math.Log(0.6 / 0.4))));
        Assert.Equal(expected, strong[5], 4);

        var options = new AugmentOptions { PLighting = 1, MaxLighting = 0.9f, BatchSize = 16 };
        var heavy = new BatchAugmenter(options, h, w);
        using var scope = NewDisposeScope();
        var outputs = heavy.Augment(tensor(image, [1, 3, h, w]).expand(16, 3, h, w).contiguous(), new Random(9));
        Assert.All(outputs.data<float>().ToArray(), v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void EveryImageOfAByteBatchGetsFastaisLightingOfItsOwnResampledPixels()
    {
        const int b = 12, h = 20, w = 24;
        var options = new AugmentOptions { Size = 16, PLighting = 1, MaxLighting = 0.5f, BatchSize = b };
        var augmenter = new BatchAugmenter(options, h, w);
        var random = new Random(17);
        // Image 0 is black and image 1 white: their pixels reach logit's clamp.
        var bytes = Enumerable.Range(0, b * 3 * h * w).Select(i => (byte)(i < 3 * h * w ? 0 : i < 6 * h * w ? 255 : random.Next(256))).ToArray();
        var draws = augmenter.Draw(new Random(4), b);
        Assert.All(draws, d => Assert.True(d.HasLighting));
        using var scope = NewDisposeScope();
        var floats = tensor(bytes, [b, 3, h, w]).to_type(ScalarType.Float32);
        var lit = augmenter.Apply(floats, draws, 1f / 255).data<float>().ToArray();
        // The same geometry without lighting, scaled to 0..1: the pixels lighting works on.
        var plain = augmenter.Apply(floats, draws.Select(d => d with { Brightness = 0.5, Contrast = 1 }).ToArray(), 1f / 255).data<float>().ToArray();
        int perImage = 3 * 16 * 16;
        double worst = 0;
        for (int i = 0; i < lit.Length; i++)
        {
            var d = draws[i / perImage];
            double x = Math.Clamp(plain[i], 1e-7, 1 - 1e-7);
            double expected = 1 / (1 + Math.Exp(-d.Contrast * (Math.Log(x / (1 - x)) + Math.Log(d.Brightness / (1 - d.Brightness)))));
            worst = Math.Max(worst, Math.Abs(expected - lit[i]));
        }
        Assert.True(worst <= 2e-6, $"largest difference from sigmoid(c · (logit(x) + logit(b))): {worst}");
        Assert.Contains(plain, v => v == 0f);
        Assert.Contains(plain, v => v == 1f);
    }

    [Theory]
    [InlineData(20, 30, 12, true)]
    [InlineData(31, 17, 8, true)]
    [InlineData(16, 16, 10, false)]
    public void ValidationTransformIsTheCentreSquareResized(int h, int w, int size, bool alignCorners)
    {
        var random = new Random(11);
        var bytes = Enumerable.Range(0, 3 * h * w).Select(_ => (byte)random.Next(256)).ToArray();
        var augmenter = new BatchAugmenter(new AugmentOptions { Size = size, AlignCorners = alignCorners }, h, w);
        using var scope = NewDisposeScope();
        var input = tensor(bytes, [1, 3, h, w]);
        var first = augmenter.Augment(input, null).data<float>().ToArray();
        Assert.Equal(first, augmenter.Augment(input, null).data<float>().ToArray());
        Assert.Equal(bytes, input.data<byte>().ToArray());

        // The scoring pass (the ONNX graph model.zip holds, sampling at the same grid) gives the same pixels.
        var ml = new MLContext(seed: 0);
        var definition = SchemaDefinition.Create(typeof(PixelsRow));
        definition[nameof(PixelsRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Byte, 3, h, w);
        var view = ml.Data.LoadFromEnumerable([new PixelsRow { Pixels = bytes }], definition);
        var options = new AugmentOptions { Size = size, AlignCorners = alignCorners };
        var scored = ml.Transforms.AugmentImages("Pixels", options).Fit(view).Transform(view).GetColumn<float[]>("Pixels").Single();
        Assert.Equal(first.Length, scored.Length);
        for (int i = 0; i < first.Length; i++) Assert.Equal(first[i], scored[i], 1e-5f);

        // Independent reference: crop the centred square, then bilinear resize.
        int side = Math.Min(h, w), top = (h - side) / 2, left = (w - side) / 2;
        double Source(int j) => alignCorners ? j * (side - 1.0) / (size - 1) : Math.Max(0, (j + 0.5) * side / size - 0.5);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    double sy = Source(y), sx = Source(x);
                    int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
                    int y1 = Math.Min(y0 + 1, side - 1), x1 = Math.Min(x0 + 1, side - 1);
                    double fy = sy - y0, fx = sx - x0;
                    double P(int yy, int xx) => bytes[(c * h + top + yy) * w + left + xx] / 255.0;
                    double expected = (1 - fy) * ((1 - fx) * P(y0, x0) + fx * P(y0, x1)) + fy * ((1 - fx) * P(y1, x0) + fx * P(y1, x1));
                    Assert.Equal(expected, first[(c * size + y) * size + x], 4);
                }
    }

    private sealed class PixelsRow
    {
        public byte[] Pixels { get; set; } = [];
    }

    [Fact]
    public void DrawsFollowFastaiDistributions()
    {
        var options = new AugmentOptions { MinScale = 0.5f, Size = 128 };
        var augmenter = new BatchAugmenter(options, 160, 160);
        var draws = augmenter.Draw(new Random(1), 2000);
        Assert.All(draws, d =>
        {
            Assert.InRange(d.RotateDegrees, -10, 10);
            Assert.InRange(d.ZoomScale, 1 / 1.1 - 1e-9, 1);
            Assert.InRange(Math.Abs(d.ZoomCenterX), 0, 1 - d.ZoomScale + 1e-9);
            Assert.InRange(d.WarpX, -0.2, 0.2);
            Assert.InRange(d.Brightness, 0.4, 0.6);
            Assert.InRange(d.Contrast, 0.8 - 1e-9, 1 / 0.8 + 1e-9);
            Assert.Equal(d.CropWidth, d.CropHeight);
            Assert.InRange(d.CropWidth * d.CropWidth / (160.0 * 160), 0.49, 1.0);
            Assert.InRange(d.CropLeft + d.CropWidth, d.CropWidth, 160);
            Assert.True(d.Dihedral is 0 or 1);
        });
        double Fraction(Func<ImageAugmentation, bool> f) => draws.Count(f) / (double)draws.Length;
        Assert.InRange(Fraction(d => d.Dihedral == 1), 0.45, 0.55);
        Assert.InRange(Fraction(d => d.RotateDegrees != 0), 0.71, 0.79);
        Assert.InRange(Fraction(d => d.ZoomScale != 1), 0.71, 0.79);
        Assert.InRange(Fraction(d => d.WarpX != 0), 0.71, 0.79);
        Assert.InRange(Fraction(d => d.Brightness != 0.5), 0.71, 0.79);
        Assert.InRange(Fraction(d => d.Contrast != 1), 0.71, 0.79);
    }

    [Fact]
    public void ThroughputHelperAugmentsAndReportsARate()
    {
        var result = AugmentationThroughput.Measure(batchSize: 4, inputSize: 20, new AugmentOptions { MinScale = 0.5f, Size = 16 }, batches: 3);
        Assert.Equal(4, result.BatchSize);
        Assert.Equal(3, result.Batches);
        Assert.True(result.ImagesPerSecond > 0 && double.IsFinite(result.ImagesPerSecond));
        Assert.Equal(result.BatchSize / result.MedianBatchSeconds, result.ImagesPerSecond, 6);
        Assert.True(result.BestBatchSeconds <= result.MedianBatchSeconds);
        Assert.True(result.BestImagesPerSecond >= result.ImagesPerSecond);
    }
}
