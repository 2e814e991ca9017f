using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Data;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Transforms;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Transforms;

/// <summary>
/// LoadPresizedImages and its image cache: the stored pixels equal the explicit chain's, each image is decoded once,
/// a store on disk is reused by later fits and follows the folder (added, modified, removed files), and a damaged
/// store is rebuilt rather than used.
/// </summary>
public sealed class ImageCacheTests : IDisposable
{
    private const int Classes = 2, TrainPerClass = 6, ValidPerClass = 2, Presize = 24;
    private const int AllImages = Classes * (TrainPerClass + ValidPerClass);
    private readonly TempFolder _temp = new();
    private readonly string _root;

    public ImageCacheTests() => _root = SyntheticImages.Create(_temp.Combine("data"), new SyntheticImagesOptions
    {
        ClassCount = Classes, TrainImagesPerClass = TrainPerClass, ValidImagesPerClass = ValidPerClass, MinSize = 28, MaxSize = 40,
    });

    public void Dispose() => _temp.Dispose();

    private string StoreFolder => _temp.Combine("store");

    private static LoadPresizedImagesEstimator Loader(MLContext ml, ImageCache cache) =>
        (LoadPresizedImagesEstimator)ml.Transforms.LoadPresizedImages("Pixels", "ImagePath", Presize, ResizeMethod.Crop, cache);

    private static List<(string Path, byte[] Pixels)> Rows(IDataView view, Random? random = null)
    {
        var result = new List<(string, byte[])>();
        using var cursor = view.GetRowCursor([view.Schema["ImagePath"], view.Schema["Pixels"]], random);
        var path = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["ImagePath"]);
        var pixels = cursor.GetGetter<VBuffer<byte>>(view.Schema["Pixels"]);
        ReadOnlyMemory<char> p = default;
        VBuffer<byte> v = default;
        while (cursor.MoveNext())
        {
            path(ref p);
            pixels(ref v);
            result.Add((p.ToString(), v.DenseValues().ToArray()));
        }
        return result;
    }

    private static Dictionary<string, byte[]> PixelsByPath(IDataView view) => Rows(view).ToDictionary(r => r.Path, r => r.Pixels);

    private Dictionary<string, byte[]> ExplicitChainPixels(MLContext ml, IDataView data) =>
        PixelsByPath(ml.Transforms.LoadImageFiles("Image", "ImagePath")
            .Append(ml.Transforms.PresizeImages("Image", Presize, ResizeMethod.Crop))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
            .Fit(data).Transform(data));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StoredPixelsEqualTheExplicitChainsAndEachImageIsDecodedOnce(bool onDisk)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        var expected = ExplicitChainPixels(ml, data.All);

        using var decoded = new DecodeCounter();
        using var model = Loader(ml, onDisk ? ImageCache.OnDisk(StoreFolder) : ImageCache.InMemory).Fit(data.All);
        Assert.Equal(AllImages, decoded.Count);
        Assert.Equal(AllImages, model.CachedImageCount);

        var all = PixelsByPath(model.Transform(data.All));
        var valid = PixelsByPath(model.Transform(data.Valid));
        Assert.Equal(AllImages, decoded.Count);   // served from the cache: no file opened again
        Assert.Equal(expected.Keys.Order(), all.Keys.Order());
        foreach (var (path, pixels) in expected) Assert.Equal(pixels, all[path]);
        Assert.Equal(Classes * ValidPerClass, valid.Count);
        Assert.All(valid, row => Assert.Equal(expected[row.Key], row.Value));
        Assert.Equal(ml.Transforms.LoadImageFiles("Image", "ImagePath").Append(ml.Transforms.PresizeImages("Image", Presize))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image")).Fit(data.All).GetOutputSchema(data.All.Schema)["Pixels"].Type,
            model.GetOutputSchema(data.All.Schema)["Pixels"].Type);
    }

    [Fact]
    public void OtherDataIsDecodedAsTheExplicitChainDecodesIt()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using var model = Loader(ml, ImageCache.InMemory).Fit(data.Train);
        using var decoded = new DecodeCounter();
        var valid = PixelsByPath(model.Transform(data.Valid));
        Assert.Equal(Classes * ValidPerClass, decoded.Count);
        var expected = ExplicitChainPixels(ml, data.Valid);
        Assert.All(valid, row => Assert.Equal(expected[row.Key], row.Value));
    }

    [Fact]
    public void ASecondFitReusesTheStoreWithoutOpeningAnImage()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using (Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All)) { }

        using var decoded = new DecodeCounter();
        using var model = Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All);
        Assert.Equal(0, decoded.Count);
        Assert.Equal(ExplicitChainPixels(ml, data.All).Count, PixelsByPath(model.Transform(data.All)).Count);
    }

    [Fact]
    public void AddedModifiedAndRemovedFilesAreFollowed()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using (Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All)) { }

        var files = Directory.GetFiles(Path.Combine(_root, "train"), "*.*", SearchOption.AllDirectories).Order().ToArray();
        string modified = files[0], removed = files[1];
        string added = Path.Combine(Path.GetDirectoryName(files[0])!, "added.png");
        WriteSolidImage(modified, SKColors.Red, 30);
        File.SetLastWriteTimeUtc(modified, DateTime.UtcNow.AddMinutes(1));
        File.Delete(removed);
        WriteSolidImage(added, SKColors.Blue, 36);

        var log = new StringWriter();
        data = ml.Data.LoadImageFolder(_root, validName: "val");
        using var decoded = new DecodeCounter();
        using var model = Loader(ml, LoggedDisk(log)).Fit(data.All);
        Assert.Equal(2, decoded.Count);
        Assert.Equal(AllImages, model.CachedImageCount);   // one removed, one added
        Assert.Contains($"{AllImages - 2} of {AllImages} images reused", log.ToString(), StringComparison.Ordinal);
        var stored = PixelsByPath(model.Transform(data.All));
        var expected = ExplicitChainPixels(ml, data.All);
        Assert.Equal(expected[modified], stored[modified]);
        Assert.Equal(expected[added], stored[added]);
        Assert.Equal(255, stored[modified][0]);            // red plane first
        Assert.DoesNotContain(removed, stored.Keys);
    }

    [Fact]
    public void ImagesThatAreSymbolicLinksAreKeyedOnTheirTargets()
    {
        var ml = new MLContext(seed: 0);
        string linked = _temp.Combine("linked");
        string targets = _temp.Combine("targets");
        foreach (string file in Directory.GetFiles(_root, "*.*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(_root, file);
            string target = Path.Combine(targets, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(linked, relative))!);
            File.CreateSymbolicLink(Path.Combine(linked, relative), target);
        }
        var data = ml.Data.LoadImageFolder(linked, validName: "val");
        using (Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All)) { }

        string link = Directory.GetFiles(Path.Combine(linked, "train"), "*.*", SearchOption.AllDirectories).Order().First();
        WriteSolidImage(new FileInfo(link).LinkTarget!, SKColors.Red, 30);   // the target changes, the link does not
        File.SetLastWriteTimeUtc(new FileInfo(link).LinkTarget!, DateTime.UtcNow.AddMinutes(1));

        using var model = Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All);
        var stored = PixelsByPath(model.Transform(data.All));
        Assert.Equal(ExplicitChainPixels(ml, data.All)[link], stored[link]);
        Assert.Equal(255, stored[link][0]);                 // red plane first
    }

    [MountFact]
    public void AFullDiskIsAnErrorNamingTheFolderAndTheStoreStaysAsItWas()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using var disk = Mount.Tmpfs(StoreFolder, 128 * 1024);   // room for the 24 px store (28 KB), not for 64 px (197 KB)
        using (Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All)) { }
        // Lock files stay (empty; deleting one another process may be opening would let two hold it).
        string[] StoreFiles() => Directory.GetFiles(StoreFolder).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).Order().ToArray();
        var before = StoreFiles().ToDictionary(f => f, File.ReadAllBytes);

        var error = Assert.Throws<IOException>(() =>
            ml.Transforms.LoadPresizedImages("Pixels", "ImagePath", 64, ResizeMethod.Crop, ImageCache.OnDisk(StoreFolder)).Fit(data.All));

        Assert.Contains($"Not enough space in '{StoreFolder}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("more are needed", error.Message, StringComparison.Ordinal);
        Assert.Equal(before.Keys, StoreFiles());   // nothing added is left
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
        using var decoded = new DecodeCounter();
        using var model = Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All);
        Assert.Equal(0, decoded.Count);
        Assert.Equal(ExplicitChainPixels(ml, data.All), PixelsByPath(model.Transform(data.All)));
    }

    [MountFact]
    public void AStoreThatCannotGrowOnAFullDiskKeepsItsPreviousImages()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        LoadPresizedImagesEstimator Large() => (LoadPresizedImagesEstimator)ml.Transforms.LoadPresizedImages("Pixels", "ImagePath", 64, ResizeMethod.Crop, ImageCache.OnDisk(StoreFolder));
        using var disk = Mount.Tmpfs(StoreFolder, 256 * 1024);   // the 64 px store of 16 images (197 KB) fits; 8 more (98 KB) do not
        using (Large().Fit(data.All)) { }
        var before = Directory.GetFiles(StoreFolder).ToDictionary(f => f, File.ReadAllBytes);
        string classFolder = Directory.GetDirectories(Path.Combine(_root, "train")).Order().First();
        for (int i = 0; i < 8; i++) WriteSolidImage(Path.Combine(classFolder, $"more-{i}.png"), SKColors.Green, 70);

        var error = Assert.Throws<IOException>(() => Large().Fit(ml.Data.LoadImageFolder(_root, validName: "val").All));

        Assert.Contains($"cannot store 8 more images", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Not enough space in '{StoreFolder}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(StoreFolder).Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));   // the pixels file shrank back
        using var decoded = new DecodeCounter();
        using (Large().Fit(data.All)) { }
        Assert.Equal(0, decoded.Count);
    }

    [MountFact]
    public void AStoreInAReadOnlyFolderIsReadWhenCompleteAndRefusedAtOnceWhenNot()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using (Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All)) { }
        using var readOnly = Mount.ReadOnlyView(StoreFolder, _temp.Combine("read-only-store"));

        using (var decoded = new DecodeCounter())
        using (var model = Loader(ml, ImageCache.OnDisk(readOnly.Target)).Fit(data.All))
        {
            Assert.Equal(0, decoded.Count);
            Assert.Equal(ExplicitChainPixels(ml, data.All), PixelsByPath(model.Transform(data.All)));
        }

        WriteSolidImage(Path.Combine(_root, "train", Path.GetFileName(Directory.GetDirectories(Path.Combine(_root, "train"))[0]), "new.png"), SKColors.Blue, 30);
        data = ml.Data.LoadImageFolder(_root, validName: "val");
        var error = Assert.Throws<IOException>(() => Loader(ml, ImageCache.OnDisk(readOnly.Target)).Fit(data.All));
        Assert.Contains($"The image cache folder '{readOnly.Target}' cannot be written", error.Message, StringComparison.Ordinal);
        Assert.Contains($"lacks 1 of the {AllImages + 1} images", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated pixels")]
    [InlineData("damaged index")]
    [InlineData("missing pixels")]
    [InlineData("empty index")]
    public void ADamagedStoreIsRebuiltNotUsed(string damage)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using (Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All)) { }
        string pixels = Directory.GetFiles(StoreFolder, "*.pixels").Single();
        string index = Directory.GetFiles(StoreFolder, "*.index").Single();
        switch (damage)
        {
            case "truncated pixels":
                using (var file = new FileStream(pixels, FileMode.Open)) file.SetLength(file.Length / 2);
                break;
            case "damaged index":
                var bytes = File.ReadAllBytes(index);
                bytes[bytes.Length / 2] ^= 0x5A;
                File.WriteAllBytes(index, bytes);
                break;
            case "empty index":
                File.WriteAllBytes(index, []);
                break;
            default:
                File.Delete(pixels);
                break;
        }

        var log = new StringWriter();
        using var decoded = new DecodeCounter();
        using var model = Loader(ml, LoggedDisk(log)).Fit(data.All);
        Assert.Equal(AllImages, decoded.Count);
        Assert.Contains("rebuilding the store", log.ToString(), StringComparison.Ordinal);
        Assert.Contains(damage switch
        {
            "truncated pixels" => "its pixels file is truncated",
            "damaged index" => "its index is damaged (checksum mismatch)",
            "empty index" => "its index is empty (0 bytes)",
            _ => "its pixels file is missing",
        }, log.ToString(), StringComparison.Ordinal);
        var expected = ExplicitChainPixels(ml, data.All);
        var stored = PixelsByPath(model.Transform(data.All));
        foreach (var (path, value) in expected) Assert.Equal(value, stored[path]);
        Assert.Single(Directory.GetFiles(StoreFolder, "*.pixels"));
    }

    [Fact]
    public void TrainingPassesShuffleTheStoredRowsAndVisitEachOnce()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        using var model = Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All);
        var view = model.Transform(data.All);
        Assert.True(view.CanShuffle);
        var expected = ExplicitChainPixels(ml, data.All);
        var orders = new List<string[]>();
        var random = new Random(3);
        for (int pass = 0; pass < 3; pass++)
        {
            var rows = Rows(view, random);
            Assert.All(rows, row => Assert.Equal(expected[row.Path], row.Pixels));
            Assert.Equal(expected.Keys.Order(), rows.Select(r => r.Path).Order());
            orders.Add([.. rows.Select(r => r.Path)]);
        }
        Assert.NotEqual(orders[0], orders[1]);
        Assert.NotEqual(orders[1], orders[2]);
    }

    [Fact]
    public void AnUnreadableImageIsNamedAndTheImagesDecodedBeforeItAreKept()
    {
        var ml = new MLContext(seed: 0);
        string bad = Directory.GetFiles(Path.Combine(_root, "val"), "*.*", SearchOption.AllDirectories).Order().Last();
        byte[] original = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, original.AsSpan(0, 20).ToArray());
        var data = ml.Data.LoadImageFolder(_root, validName: "val");
        var error = Assert.Throws<InvalidDataException>(() => Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All));
        Assert.Contains(bad, error.Message, StringComparison.Ordinal);

        File.WriteAllBytes(bad, original);
        using var decoded = new DecodeCounter();
        using var model = Loader(ml, ImageCache.OnDisk(StoreFolder)).Fit(data.All);
        Assert.Equal(AllImages, model.CachedImageCount);
        Assert.InRange(decoded.Count, 1, AllImages);
    }

    private ImageCache LoggedDisk(TextWriter log) => ImageCache.OnDisk(StoreFolder) with { Log = log };

    private static void WriteSolidImage(string path, SKColor color, int size)
    {
        using var bitmap = new SKBitmap(size, size);
        bitmap.Erase(color);
        using var image = SKImage.FromBitmap(bitmap);
        using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, encoded.ToArray());
    }
}
