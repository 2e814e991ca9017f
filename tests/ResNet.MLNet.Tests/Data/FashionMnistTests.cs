using System.Buffers.Binary;
using System.IO.Compression;
using ResNet.MLNet.Data;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Data;

public class FashionMnistTests
{
    private static byte[] Idx(int[] shape, byte[] data, bool gzip = true, byte type = 0x08)
    {
        using var raw = new MemoryStream();
        raw.Write([0, 0, type, (byte)shape.Length]);
        Span<byte> size = stackalloc byte[4];
        foreach (int dimension in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(size, dimension);
            raw.Write(size);
        }
        raw.Write(data);
        if (!gzip)
            return raw.ToArray();
        using var packed = new MemoryStream();
        using (var stream = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
            stream.Write(raw.ToArray());
        return packed.ToArray();
    }

    /// <summary>Images whose pixels encode (image index, pixel index) so they can be checked after the round trip.</summary>
    private static byte[] Pixels(int count, int rows, int columns) =>
        Enumerable.Range(0, count * rows * columns).Select(i => (byte)((i / (rows * columns)) * 40 + i % (rows * columns))).ToArray();

    private static string WriteSource(TempFolder temp, byte[] trainLabels, byte[] validLabels, int rows = 4, int columns = 3)
    {
        string folder = temp.Combine("source");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte.gz"), Idx([trainLabels.Length, rows, columns], Pixels(trainLabels.Length, rows, columns)));
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), Idx([trainLabels.Length], trainLabels));
        File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte.gz"), Idx([validLabels.Length, rows, columns], Pixels(validLabels.Length, rows, columns)));
        File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz"), Idx([validLabels.Length], validLabels));
        return folder;
    }

    [Fact]
    public void IdxReaderReadsPlainAndGzippedFiles()
    {
        using var temp = new TempFolder();
        byte[] data = Pixels(2, 4, 3);
        File.WriteAllBytes(temp.Combine("plain.idx"), Idx([2, 4, 3], data, gzip: false));
        File.WriteAllBytes(temp.Combine("packed.idx.gz"), Idx([2, 4, 3], data));

        foreach (string name in new[] { "plain.idx", "packed.idx.gz" })
        {
            IdxArray array = IdxFile.Read(temp.Combine(name));
            Assert.Equal([2, 4, 3], array.Shape);
            Assert.Equal(data, array.Data);
        }
    }

    [Fact]
    public void MalformedIdxFilesAreReportedByName()
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.Combine("magic.idx"), [1, 2, 3, 4, 5]);
        File.WriteAllBytes(temp.Combine("float.idx"), Idx([1], [0, 0, 0, 0], type: 0x0D));
        File.WriteAllBytes(temp.Combine("short.idx.gz"), Idx([10, 4, 3], new byte[7]));
        File.WriteAllBytes(temp.Combine("gzip.idx.gz"), [0x1F, 0x8B, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => IdxFile.Read(temp.Combine("magic.idx"))).Message, StringComparison.Ordinal);
        Assert.Contains("0x0D", Assert.Throws<InvalidDataException>(() => IdxFile.Read(temp.Combine("float.idx"))).Message, StringComparison.Ordinal);
        var truncated = Assert.Throws<InvalidDataException>(() => IdxFile.Read(temp.Combine("short.idx.gz")));
        Assert.Contains("truncated", truncated.Message, StringComparison.Ordinal);
        Assert.Contains("short.idx.gz", truncated.Message, StringComparison.Ordinal);
        Assert.Contains("gzip.idx.gz", Assert.Throws<InvalidDataException>(() => IdxFile.Read(temp.Combine("gzip.idx.gz"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaterialisesAnImageFolderWithTheRealClassNames()
    {
        using var temp = new TempFolder();
        string source = WriteSource(temp, trainLabels: [0, 9, 9, 3, 0, 1], validLabels: [9, 1]);
        var options = new FashionMnistOptions { SourceDirectory = source, CacheDirectory = temp.Combine("cache"), AllowDownload = false, ShowProgressBar = false };

        string root = await FashionMnist.GetOrCreateAsync(options);

        Assert.Equal(Path.Combine(temp.Combine("cache"), "fashion-mnist"), root);
        ImageFolder data = ImageFolder.Load(root);
        Assert.Equal((6, 2), (data.TrainCount, data.ValidCount));
        Assert.Equal(["Ankle_boot", "Dress", "T-shirt_top", "Trouser"], data.Classes);
        Assert.Equal(["00000.png", "00004.png"], Directory.GetFiles(Path.Combine(root, "train", "T-shirt_top")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(root, "val", "Trouser", "00001.png")));
        Assert.Equal(["Ankle_boot", "Trouser"], Directory.GetDirectories(Path.Combine(root, "val")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        using var image = SKBitmap.Decode(Path.Combine(root, "train", "Dress", "00003.png"));
        Assert.Equal((3, 4), (image.Width, image.Height));
        byte[] expected = Pixels(6, 4, 3).AsSpan(3 * 12, 12).ToArray();
        Assert.Equal(expected, Enumerable.Range(0, 12).Select(i => image.GetPixel(i % 3, i / 3).Red).ToArray());
        Assert.All(Enumerable.Range(0, 12), i => Assert.Equal(image.GetPixel(i % 3, i / 3).Red, image.GetPixel(i % 3, i / 3).Blue));

        File.Delete(Path.Combine(source, "t10k-labels-idx1-ubyte.gz"));
        Assert.Equal(root, await FashionMnist.GetOrCreateAsync(options));
    }

    [Fact]
    public async Task SubsetsGetTheirOwnCacheFolder()
    {
        using var temp = new TempFolder();
        string source = WriteSource(temp, trainLabels: [0, 1, 2, 3, 4, 5], validLabels: [2, 7, 8]);
        string root = await FashionMnist.GetOrCreateAsync(new FashionMnistOptions
        {
            SourceDirectory = source, CacheDirectory = temp.Combine("cache"), MaxTrainImages = 4, MaxValidImages = 1, ShowProgressBar = false,
        });

        Assert.Equal("fashion-mnist-4-1", Path.GetFileName(root));
        ImageFolder data = ImageFolder.Load(root);
        Assert.Equal((4, 1), (data.TrainCount, data.ValidCount));
    }

    [Fact]
    public async Task ImagesAndLabelsThatDisagreeAreReported()
    {
        using var temp = new TempFolder();
        string source = WriteSource(temp, trainLabels: [0, 1], validLabels: [1]);
        File.WriteAllBytes(Path.Combine(source, "train-labels-idx1-ubyte.gz"), Idx([3], [0, 1, 2]));
        var options = new FashionMnistOptions { SourceDirectory = source, CacheDirectory = temp.Combine("cache"), ShowProgressBar = false };

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => FashionMnist.GetOrCreateAsync(options));
        Assert.Contains("2 images", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 labels", error.Message, StringComparison.Ordinal);

        File.WriteAllBytes(Path.Combine(source, "train-labels-idx1-ubyte.gz"), Idx([2], [0, 12]));
        Assert.Contains("label 12", (await Assert.ThrowsAsync<InvalidDataException>(() => FashionMnist.GetOrCreateAsync(options))).Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(temp.Combine("cache"), "fashion-mnist")));
    }

    [Fact]
    public async Task MissingFilesTellTheUserHowToInstallThem()
    {
        using var temp = new TempFolder();
        var options = new FashionMnistOptions { SourceDirectory = temp.Combine("empty"), CacheDirectory = temp.Combine("cache"), ShowProgressBar = false };
        Directory.CreateDirectory(options.SourceDirectory);
        var missingSource = await Assert.ThrowsAsync<FileNotFoundException>(() => FashionMnist.GetOrCreateAsync(options));
        Assert.Contains("train-images-idx3-ubyte.gz", missingSource.Message, StringComparison.Ordinal);

        using var server = new LocalHttpServer();
        var offline = new FashionMnistOptions
        {
            CacheDirectory = temp.Combine("cache"), SystemDirectory = temp.Combine("no-package"), DownloadUrl = server.Url("fashion/"), ShowProgressBar = false,
        };
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => FashionMnist.GetOrCreateAsync(offline));
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message, StringComparison.Ordinal);
        Assert.Contains("404", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Hits("fashion/train-images-idx3-ubyte.gz"));
        offline.AllowDownload = false;
        Assert.Contains("apt-get install dataset-fashion-mnist", (await Assert.ThrowsAsync<FileNotFoundException>(() => FashionMnist.GetOrCreateAsync(offline))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DownloadsTheFourFilesWhenNoLocalCopyExists()
    {
        using var temp = new TempFolder();
        string source = WriteSource(temp, trainLabels: [4, 5], validLabels: [5]);
        using var server = new LocalHttpServer();
        foreach (string file in FashionMnist.FileNames)
            server.Serve("fashion/" + file, File.ReadAllBytes(Path.Combine(source, file)));
        var options = new FashionMnistOptions
        {
            CacheDirectory = temp.Combine("cache"), SystemDirectory = temp.Combine("no-package"), DownloadUrl = server.Url("fashion/"), ShowProgressBar = false,
        };

        string root = await FashionMnist.GetOrCreateAsync(options);

        Assert.Equal(["Coat", "Sandal"], ImageFolder.Load(root).Classes);
        Assert.Equal(4, server.TotalHits);
        Assert.True(File.Exists(Path.Combine(temp.Combine("cache"), "archives", "fashion-mnist", "t10k-labels-idx1-ubyte.gz")));
    }
}
