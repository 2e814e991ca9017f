using System.Security.Cryptography;
using System.Text;
using ResNet.MLNet.IO;
using SkiaSharp;

namespace ResNet.MLNet.Data;

/// <summary>
/// The project's built-in synthetic image dataset: RGB images of shapes and textures in the
/// image-folder layout <c>root/train/&lt;class&gt;/*.jpg</c> and <c>root/val/&lt;class&gt;/*.jpg</c>.
/// Each image has a random size and aspect ratio, background (flat or gradient), clutter, object colour,
/// position, scale and rotation, plus pixel noise. The same options always give the same images.
/// </summary>
public static class SyntheticImages
{
    /// <summary>Bumped whenever the drawing changes, so cached copies made by an older generator are not reused.</summary>
    internal const int GeneratorVersion = 5;

    /// <summary>Objects are rotated by up to this many degrees either way.</summary>
    private const float MaxRotation = 25f;

    private static readonly string[] Names =
        ["circle", "square", "triangle", "cross", "star", "ring", "stripes", "checker", "dots", "arrow", "crescent", "hexagon"];

    /// <summary>Every class the generator can draw, in order; a dataset with N classes uses the first N.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(Names);

    /// <summary>
    /// Writes a synthetic dataset under <paramref name="root"/> (created if missing) and returns its full path.
    /// Refuses to write into a root whose train or validation folder already exists.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="IOException">The train or validation folder already exists under <paramref name="root"/>.</exception>
    public static string Create(string root, SyntheticImagesOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        options = (options ?? new SyntheticImagesOptions()).Clone();
        options.Validate();
        string fullRoot = Path.GetFullPath(root);
        foreach (string split in new[] { options.TrainName, options.ValidName })
        {
            string folder = Path.Combine(fullRoot, split);
            if (Directory.Exists(folder))
                throw new IOException($"Cannot create a synthetic dataset in '{fullRoot}': the folder '{folder}' already exists. Choose an empty folder.");
        }

        var jobs = new List<(string Path, int Split, int Class, int Index)>();
        string extension = options.Format == SyntheticImageFormat.Png ? ".png" : ".jpg";
        for (int split = 0; split < 2; split++)
        {
            int perClass = split == 0 ? options.TrainImagesPerClass : options.ValidImagesPerClass;
            if (perClass == 0)
                continue;
            string splitFolder = Path.Combine(fullRoot, split == 0 ? options.TrainName : options.ValidName);
            for (int c = 0; c < options.ClassCount; c++)
            {
                string classFolder = Path.Combine(splitFolder, Names[c]);
                Directory.CreateDirectory(classFolder);
                for (int i = 0; i < perClass; i++)
                    jobs.Add((Path.Combine(classFolder, $"{Names[c]}_{i:D4}{extension}"), split, c, i));
            }
        }

        Parallel.ForEach(jobs, job =>
        {
            var random = new Random(ImageSeed(options.Seed, job.Split, job.Class, job.Index));
            using SKData encoded = Render(job.Class, options, random);
            using var file = new FileStream(job.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096);
            file.Write(encoded.AsSpan());
        });
        return fullRoot;
    }

    /// <summary>
    /// Returns the folder of a synthetic dataset made with <paramref name="options"/> in the dataset cache
    /// (see <see cref="Datasets.DefaultCacheDirectory"/>), generating it on first use. Later calls with the same options reuse it.
    /// </summary>
    /// <param name="options">Generator settings; the defaults when null.</param>
    /// <param name="cacheDirectory">Cache folder; <see cref="Datasets.DefaultCacheDirectory"/> when null.</param>
    public static string GetOrCreate(SyntheticImagesOptions? options = null, string? cacheDirectory = null)
    {
        options = (options ?? new SyntheticImagesOptions()).Clone();
        options.Validate();
        string cache = DatasetCache.Resolve(cacheDirectory);
        string target = Path.Combine(cache, CacheFolderName(options));
        if (Directory.Exists(target))
            return target;

        string staging = DatasetCache.CreateStagingDirectory(cache);
        try
        {
            Create(staging, options);
            DatasetCache.PublishDirectory(staging, target);
        }
        catch
        {
            AtomicFile.DeleteQuietly(staging);
            throw;
        }
        return target;
    }

    /// <summary>The cache folder name for <paramref name="options"/>: readable prefix plus a hash of every option.</summary>
    internal static string CacheFolderName(SyntheticImagesOptions options)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(options.CacheKey()));
        return $"synthetic-{options.ClassCount}c-seed{options.Seed}-{Convert.ToHexStringLower(hash, 0, 4)}";
    }

    internal static int ImageSeed(int seed, int split, int classIndex, int index)
    {
        // SplitMix64 over the image's coordinates: independent, order-free streams per image.
        ulong z = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)split << 58) ^ ((ulong)(uint)classIndex << 40) ^ (uint)index);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    /// <summary>Draws one image of class <paramref name="classIndex"/> and returns it encoded.</summary>
    internal static SKData Render(int classIndex, SyntheticImagesOptions options, Random random)
    {
        int width = random.Next(options.MinSize, options.MaxSize + 1);
        int height = random.Next(options.MinSize, options.MaxSize + 1);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            SKColor background = RandomColor(random);
            SKColor foreground = ContrastingColor(random, background);
            DrawBackground(canvas, random, width, height, background);
            int clutter = random.Next(0, options.MaxClutter + 1);
            for (int i = 0; i < clutter; i++)
                DrawClutter(canvas, random, width, height, background);

            float shortSide = Math.Min(width, height);
            float radius = shortSide * (0.3f + 0.15f * random.NextSingle());
            // The object stays inside the central square, so a centre crop to a square keeps all of it.
            float slackX = shortSide / 2 - 0.9f * radius, slackY = shortSide / 2 - 0.9f * radius;
            float cx = width / 2f + Uniform(random, -slackX, slackX);
            float cy = height / 2f + Uniform(random, -slackY, slackY);
            canvas.Save();
            canvas.Translate(cx, cy);
            canvas.RotateDegrees(MaxRotation * (2f * random.NextSingle() - 1f));
            canvas.Scale(radius);
            using var paint = new SKPaint { IsAntialias = true, Color = foreground, Style = SKPaintStyle.Fill };
            DrawObject(canvas, paint, classIndex);
            canvas.Restore();
        }

        if (options.NoiseLevel > 0)
            AddNoise(bitmap, random, options.NoiseLevel);
        return options.Format == SyntheticImageFormat.Png
            ? bitmap.Encode(SKEncodedImageFormat.Png, 100)
            : bitmap.Encode(SKEncodedImageFormat.Jpeg, options.JpegQuality);
    }

    private static void DrawObject(SKCanvas canvas, SKPaint paint, int classIndex)
    {
        switch (Names[classIndex])
        {
            case "circle":
                canvas.DrawCircle(0, 0, 0.9f, paint);
                break;
            case "square":
                canvas.DrawRect(-0.75f, -0.75f, 1.5f, 1.5f, paint);
                break;
            case "triangle":
                using (var triangle = RegularPolygon(3, 1f))
                    canvas.DrawPath(triangle, paint);
                break;
            case "cross":
                canvas.DrawRect(-0.95f, -0.2f, 1.9f, 0.4f, paint);
                canvas.DrawRect(-0.2f, -0.95f, 0.4f, 1.9f, paint);
                break;
            case "star":
                using (var star = Star(5, 1f, 0.42f))
                    canvas.DrawPath(star, paint);
                break;
            case "ring":
                paint.Style = SKPaintStyle.Stroke;
                paint.StrokeWidth = 0.28f;
                canvas.DrawCircle(0, 0, 0.75f, paint);
                break;
            case "hexagon":
                using (var hexagon = RegularPolygon(6, 0.9f))
                    canvas.DrawPath(hexagon, paint);
                break;
            case "stripes":
                canvas.ClipRect(new SKRect(-0.85f, -0.85f, 0.85f, 0.85f), SKClipOperation.Intersect, antialias: true);
                for (float x = -0.85f; x < 0.85f; x += 0.4f)
                    canvas.DrawRect(x, -0.85f, 0.2f, 1.7f, paint);
                break;
            case "checker":
                for (int row = 0; row < 4; row++)
                    for (int col = 0; col < 4; col++)
                        if ((row + col) % 2 == 0)
                            canvas.DrawRect(-0.8f + 0.4f * col, -0.8f + 0.4f * row, 0.4f, 0.4f, paint);
                break;
            case "dots":
                for (int row = -1; row <= 1; row++)
                    for (int col = -1; col <= 1; col++)
                        canvas.DrawCircle(0.6f * col, 0.6f * row, 0.17f, paint);
                break;
            case "crescent":
                using (var outer = new SKPath())
                using (var inner = new SKPath())
                {
                    outer.AddCircle(0, 0, 0.9f);
                    inner.AddCircle(0.4f, 0, 0.72f);
                    using SKPath crescent = outer.Op(inner, SKPathOp.Difference);
                    canvas.DrawPath(crescent, paint);
                }
                break;
            case "arrow":
                using (var arrow = new SKPath())
                {
                    arrow.MoveTo(-0.9f, -0.2f);
                    arrow.LineTo(0.2f, -0.2f);
                    arrow.LineTo(0.2f, -0.6f);
                    arrow.LineTo(0.95f, 0f);
                    arrow.LineTo(0.2f, 0.6f);
                    arrow.LineTo(0.2f, 0.2f);
                    arrow.LineTo(-0.9f, 0.2f);
                    arrow.Close();
                    canvas.DrawPath(arrow, paint);
                }
                break;
            default:
                throw new InvalidOperationException($"No drawing for synthetic class '{Names[classIndex]}'.");
        }
    }

    private static void DrawBackground(SKCanvas canvas, Random random, int width, int height, SKColor background)
    {
        using var paint = new SKPaint { IsAntialias = true, Color = background };
        int kind = random.Next(3);
        if (kind > 0)
        {
            SKColor second = Jitter(random, background, 60);
            SKShader shader = kind == 1
                ? SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width * random.NextSingle(), height), [background, second], SKShaderTileMode.Clamp)
                : SKShader.CreateRadialGradient(new SKPoint(width * random.NextSingle(), height * random.NextSingle()), Math.Max(width, height), [second, background], SKShaderTileMode.Clamp);
            paint.Shader = shader;
        }
        canvas.DrawRect(0, 0, width, height, paint);
        paint.Shader?.Dispose();
    }

    private static void DrawClutter(SKCanvas canvas, Random random, int width, int height, SKColor background)
    {
        float shortSide = Math.Min(width, height);
        using var paint = new SKPaint { IsAntialias = true, Color = Jitter(random, background, 90).WithAlpha((byte)random.Next(100, 220)) };
        float x = width * random.NextSingle(), y = height * random.NextSingle();
        switch (random.Next(3))
        {
            case 0:
                paint.Style = SKPaintStyle.Stroke;
                paint.StrokeWidth = 1f + 2f * random.NextSingle();
                canvas.DrawLine(x, y, width * random.NextSingle(), height * random.NextSingle(), paint);
                break;
            case 1:
                canvas.DrawCircle(x, y, shortSide * Uniform(random, 0.03f, 0.09f), paint);
                break;
            default:
                float w = shortSide * Uniform(random, 0.04f, 0.14f), h = shortSide * Uniform(random, 0.04f, 0.14f);
                canvas.DrawRect(x - w / 2, y - h / 2, w, h, paint);
                break;
        }
    }

    private static unsafe void AddNoise(SKBitmap bitmap, Random random, float level)
    {
        int length = bitmap.ByteCount;
        var pixels = new Span<byte>((void*)bitmap.GetPixels(), length);
        byte[] draws = new byte[2 * length];
        random.NextBytes(draws);
        // The sum of two uniform bytes minus 255 is triangular with standard deviation 255/sqrt(6).
        float scale = level * 255f / (255f / MathF.Sqrt(6f));
        for (int i = 0; i < length; i++)
        {
            if ((i & 3) == 3)
                continue; // alpha stays opaque
            float value = pixels[i] + scale * (draws[2 * i] + draws[2 * i + 1] - 255);
            pixels[i] = (byte)Math.Clamp(value + 0.5f, 0f, 255f);
        }
        bitmap.NotifyPixelsChanged();
    }

    private static SKPath RegularPolygon(int sides, float radius)
    {
        var path = new SKPath();
        for (int i = 0; i < sides; i++)
        {
            double angle = -Math.PI / 2 + 2 * Math.PI * i / sides;
            var point = new SKPoint((float)(radius * Math.Cos(angle)), (float)(radius * Math.Sin(angle)));
            if (i == 0)
                path.MoveTo(point);
            else
                path.LineTo(point);
        }
        path.Close();
        return path;
    }

    private static SKPath Star(int points, float outer, float inner)
    {
        var path = new SKPath();
        for (int i = 0; i < 2 * points; i++)
        {
            double angle = -Math.PI / 2 + Math.PI * i / points;
            float r = i % 2 == 0 ? outer : inner;
            var point = new SKPoint((float)(r * Math.Cos(angle)), (float)(r * Math.Sin(angle)));
            if (i == 0)
                path.MoveTo(point);
            else
                path.LineTo(point);
        }
        path.Close();
        return path;
    }

    private static SKColor RandomColor(Random random) =>
        SKColor.FromHsv(360f * random.NextSingle(), 20f + 80f * random.NextSingle(), 15f + 85f * random.NextSingle());

    /// <summary>A random colour whose luma differs from <paramref name="background"/> by at least 90 of 255, so the object stays visible.</summary>
    private static SKColor ContrastingColor(Random random, SKColor background)
    {
        float backgroundLuma = Luma(background);
        SKColor candidate = RandomColor(random);
        for (int attempt = 0; attempt < 16 && Math.Abs(Luma(candidate) - backgroundLuma) < 90f; attempt++)
            candidate = RandomColor(random);
        if (Math.Abs(Luma(candidate) - backgroundLuma) < 90f)
        {
            candidate.ToHsv(out float h, out float s, out _);
            candidate = SKColor.FromHsv(h, s, backgroundLuma > 127f ? 10f : 100f);
        }
        return candidate;
    }

    private static SKColor Jitter(Random random, SKColor color, int amount)
    {
        byte Shift(byte channel) => (byte)Math.Clamp(channel + random.Next(-amount, amount + 1), 0, 255);
        return new SKColor(Shift(color.Red), Shift(color.Green), Shift(color.Blue));
    }

    private static float Luma(SKColor color) => 0.299f * color.Red + 0.587f * color.Green + 0.114f * color.Blue;

    private static float Uniform(Random random, float low, float high) =>
        high <= low ? (low + high) / 2 : low + (high - low) * random.NextSingle();
}
