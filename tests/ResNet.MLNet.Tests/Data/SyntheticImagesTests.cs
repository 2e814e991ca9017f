using ResNet.MLNet.Data;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Data;

public class SyntheticImagesTests
{
    private static SyntheticImagesOptions Small(int seed = 0) => new()
    {
        ClassCount = 3, TrainImagesPerClass = 4, ValidImagesPerClass = 2, MinSize = 24, MaxSize = 40, Seed = seed,
    };

    private static string[] Files(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .OrderBy(f => f, StringComparer.Ordinal).ToArray();

    [Fact]
    public void WritesTheImageFolderLayoutWithDecodableImagesOfVariedSize()
    {
        using var temp = new TempFolder();
        string root = SyntheticImages.Create(temp.Combine("ds"), Small());

        string[] files = Files(root);
        Assert.Equal(3 * (4 + 2), files.Length);
        Assert.Equal(new[] { "circle", "square", "triangle" },
            Directory.GetDirectories(Path.Combine(root, "train")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(12, files.Count(f => f.StartsWith("train/", StringComparison.Ordinal)));
        Assert.Equal(6, files.Count(f => f.StartsWith("val/", StringComparison.Ordinal)));
        Assert.All(files, f => Assert.EndsWith(".jpg", f, StringComparison.Ordinal));

        var sizes = new HashSet<(int, int)>();
        foreach (string file in files)
        {
            using var bitmap = SKBitmap.Decode(Path.Combine(root, file));
            Assert.NotNull(bitmap);
            Assert.InRange(bitmap.Width, 24, 40);
            Assert.InRange(bitmap.Height, 24, 40);
            sizes.Add((bitmap.Width, bitmap.Height));
        }
        Assert.Contains(sizes, s => s.Item1 != s.Item2);
    }

    [Fact]
    public void SameSeedGivesIdenticalFilesAndOtherSeedDiffers()
    {
        using var temp = new TempFolder();
        string a = SyntheticImages.Create(temp.Combine("a"), Small(seed: 7));
        string b = SyntheticImages.Create(temp.Combine("b"), Small(seed: 7));
        string c = SyntheticImages.Create(temp.Combine("c"), Small(seed: 8));

        string[] files = Files(a);
        Assert.Equal(files, Files(b));
        Assert.All(files, f => Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f))));
        Assert.Contains(files, f => !File.ReadAllBytes(Path.Combine(a, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(c, f))));
    }

    [Fact]
    public void ImagesOfOneClassDifferFromEachOther()
    {
        using var temp = new TempFolder();
        string root = SyntheticImages.Create(temp.Combine("ds"), Small());
        var hashes = Directory.GetFiles(Path.Combine(root, "train", "circle"))
            .Select(f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))))
            .ToHashSet();
        Assert.Equal(4, hashes.Count);
    }

    [Fact]
    public void PngFormatAndCustomFolderNamesAreHonoured()
    {
        using var temp = new TempFolder();
        var options = Small();
        options.Format = SyntheticImageFormat.Png;
        options.TrainName = "training";
        options.ValidName = "valid";
        options.ValidImagesPerClass = 0;
        string root = SyntheticImages.Create(temp.Combine("ds"), options);

        string[] files = Files(root);
        Assert.Equal(12, files.Length);
        Assert.All(files, f => Assert.Matches("^training/[a-z]+/[a-z]+_\\d{4}\\.png$", f));
        Assert.False(Directory.Exists(Path.Combine(root, "valid")));
    }

    [Fact]
    public void GetOrCreateGeneratesOnceAndReusesTheCachedCopy()
    {
        using var temp = new TempFolder();
        string first = SyntheticImages.GetOrCreate(Small(), temp.Path);
        DateTime written = File.GetLastWriteTimeUtc(Directory.GetFiles(first, "*", SearchOption.AllDirectories)[0]);
        string marker = Path.Combine(first, "marker.txt");
        File.WriteAllText(marker, "kept");

        string second = SyntheticImages.GetOrCreate(Small(), temp.Path);
        string other = SyntheticImages.GetOrCreate(Small(seed: 1), temp.Path);

        Assert.Equal(first, second);
        Assert.True(File.Exists(marker));
        Assert.NotEqual(first, other);
        Assert.StartsWith(temp.Path, first, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetDirectories(temp.Path), d => Path.GetFileName(d).StartsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Directory.GetFiles(first, "*", SearchOption.AllDirectories).First(f => f != marker)));
    }

    [Fact]
    public void RefusesToOverwriteAnExistingSplitFolder()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("ds", "val"));
        var error = Assert.Throws<IOException>(() => SyntheticImages.Create(temp.Combine("ds"), Small()));
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(SyntheticImagesOptions.ClassCount))]
    [InlineData(nameof(SyntheticImagesOptions.TrainImagesPerClass))]
    [InlineData(nameof(SyntheticImagesOptions.MaxSize))]
    [InlineData(nameof(SyntheticImagesOptions.NoiseLevel))]
    [InlineData(nameof(SyntheticImagesOptions.ValidName))]
    public void InvalidOptionsAreRejectedByName(string option)
    {
        var options = Small();
        switch (option)
        {
            case nameof(SyntheticImagesOptions.ClassCount): options.ClassCount = SyntheticImages.ClassNames.Count + 1; break;
            case nameof(SyntheticImagesOptions.TrainImagesPerClass): options.TrainImagesPerClass = 0; break;
            case nameof(SyntheticImagesOptions.MaxSize): options.MaxSize = options.MinSize - 1; break;
            case nameof(SyntheticImagesOptions.NoiseLevel): options.NoiseLevel = float.NaN; break;
            default: options.ValidName = "../x"; break;
        }
        using var temp = new TempFolder();
        var error = Assert.Throws<ArgumentException>(() => SyntheticImages.Create(temp.Combine("ds"), options));
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("ds")));
    }

    [Fact]
    public void DatasetCacheFolderPrefersExplicitThenEnvironmentThenUserDataFolder()
    {
        string explicitDir = Path.Combine(Path.GetTempPath(), "x");
        Assert.Equal(Path.GetFullPath(explicitDir), DatasetCache.Resolve(explicitDir, "/env", "/home/u/.local/share", "/home/u"));
        Assert.Equal(Path.GetFullPath("/env"), DatasetCache.Resolve(null, "/env", "/home/u/.local/share", "/home/u"));
        Assert.Equal(Path.GetFullPath("/home/u/.local/share/resnet-mlnet/data"), DatasetCache.Resolve(null, " ", "/home/u/.local/share", "/home/u"));
        Assert.Equal(Path.GetFullPath("/home/u/.resnet-mlnet/data"), DatasetCache.Resolve(null, null, "", "/home/u"));
        Assert.Throws<InvalidOperationException>(() => DatasetCache.Resolve(null, null, null, null));
    }
}
