using System.Security.Cryptography;
using ResNet.MLNet.Data;
using static ResNet.MLNet.Tests.Data.TestArchives;

namespace ResNet.MLNet.Tests.Data;

public class UntarDataTests
{
    private static UntarDataOptions Options(TempFolder cache, DownloadChecksum? check = null) =>
        new() { CacheDirectory = cache.Combine("cache"), Checksum = check, ShowProgressBar = false };

    /// <summary>Everything in the cache folder except kept archives, as relative paths.</summary>
    private static string[] CacheContents(TempFolder temp)
    {
        string cache = temp.Combine("cache");
        return Directory.Exists(cache)
            ? Directory.GetFileSystemEntries(cache, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(cache, p)).ToArray()
            : [];
    }

    private static string Md5(byte[] data) => Convert.ToHexStringLower(MD5.HashData(data));

    [Fact]
    public async Task DownloadsVerifiesExtractsAndThenHitsTheCacheWithoutNetwork()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset("tiny");
        server.Serve("data/tiny.tgz", archive);
        var reports = new List<DownloadProgress>();
        var options = Options(temp, new DownloadChecksum(archive.Length, Md5(archive)));
        options.Progress = new SyncProgress(reports.Add);

        string root = await Datasets.UntarDataAsync(server.Url("data/tiny.tgz"), options);

        Assert.Equal(Path.Combine(temp.Combine("cache"), "tiny"), root);
        Assert.Equal("a1", File.ReadAllText(Path.Combine(root, "train", "a", "1.jpg")));
        Assert.Equal("a3", File.ReadAllText(Path.Combine(root, "val", "a", "3.jpg")));
        Assert.Equal(["tiny"], Directory.GetFileSystemEntries(temp.Combine("cache")).Select(Path.GetFileName));
        Assert.Contains(reports, r => r.Stage == DownloadStage.Downloading && r.Done == archive.Length && r.Total == archive.Length);
        Assert.Contains(reports, r => r.Stage == DownloadStage.Extracting);
        Assert.Equal(DownloadStage.Completed, reports[^1].Stage);
        Assert.Equal(1, server.Hits("data/tiny.tgz"));

        server.Serve("data/tiny.tgz", new LocalHttpServer.Route([], Status: 500));
        string again = await Datasets.UntarDataAsync(server.Url("data/tiny.tgz"), Options(temp));
        Assert.Equal(root, again);
        Assert.Equal(1, server.Hits("data/tiny.tgz"));
        Assert.True(Datasets.IsCached("tiny", temp.Combine("cache")));

        var loaded = ImageFolder.Load(root);
        Assert.Equal((2, 1), (loaded.TrainCount, loaded.ValidCount));
    }

    [Fact]
    public async Task FastAiStyleChecksumOfTheFirstMebibyteIsAccepted()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        var random = new Random(1);
        byte[] big = new byte[(1 << 20) + 5000];
        random.NextBytes(big);
        byte[] archive = Tgz(Entry.File("big/blob.bin", Convert.ToBase64String(big)));
        server.Serve("big.tgz", archive);
        string prefixMd5 = Convert.ToHexStringLower(MD5.HashData(archive.AsSpan(0, Math.Min(archive.Length, 1 << 20))));

        string root = await Datasets.UntarDataAsync(server.Url("big.tgz"), Options(temp, DownloadChecksum.FastAi(archive.Length, prefixMd5)));
        Assert.True(File.Exists(Path.Combine(root, "blob.bin")));
    }

    [Fact]
    public async Task ChecksumMismatchLeavesNothingInTheCache()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        server.Serve("tiny.tgz", archive);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            Datasets.UntarDataAsync(server.Url("tiny.tgz"), Options(temp, new DownloadChecksum(archive.Length, new string('0', 32)))));

        Assert.Contains("Checksum mismatch", error.Message, StringComparison.Ordinal);
        Assert.Contains(Md5(archive), error.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));
    }

    [Fact]
    public async Task WrongSizeIsRefusedBeforeDownloading()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        server.Serve("tiny.tgz", archive);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            Datasets.UntarDataAsync(server.Url("tiny.tgz"), Options(temp, new DownloadChecksum(Size: archive.Length + 1))));
        Assert.Contains("expected size", error.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));
    }

    [Fact]
    public async Task InterruptedDownloadLeavesNothingAndTheNextCallSucceeds()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        server.Serve("tiny.tgz", new LocalHttpServer.Route(archive, CutAfter: archive.Length / 2));

        var error = await Assert.ThrowsAsync<IOException>(() => Datasets.UntarDataAsync(server.Url("tiny.tgz"), Options(temp)));
        Assert.Contains("interrupted", error.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));

        server.Serve("tiny.tgz", archive);
        string root = await Datasets.UntarDataAsync(server.Url("tiny.tgz"), Options(temp));
        Assert.Equal("b2", File.ReadAllText(Path.Combine(root, "train", "b", "2.jpg")));
    }

    [Fact]
    public async Task TemporariesLeftByAKilledDownloadAreRemovedByTheNextOne()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        int gone = ResNet.MLNet.Tests.IO.AtomicFileTests.ExitedProcessId();
        string cache = temp.Combine("cache");
        Directory.CreateDirectory(Path.Combine(cache, $".staging.{gone}-0000abcd.tmp", "train"));
        File.WriteAllText(Path.Combine(cache, $".tiny.tgz.part.{gone}-12345678.tmp"), "half a download");
        server.Serve("tiny.tgz", Dataset());

        string root = await Datasets.UntarDataAsync(server.Url("tiny.tgz"), Options(temp));

        Assert.Equal(["tiny"], Directory.GetFileSystemEntries(cache).Select(Path.GetFileName));
        Assert.True(File.Exists(Path.Combine(root, "train", "a", "1.jpg")));
    }

    [Fact]
    public async Task TheGzipChecksumIsVerifiedEvenPastTheTarEndMarker()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        // A tar whose end marker comes long before the end of the gzip stream (a megabyte of trailing bytes that the tar
        // reader never needs), with a wrong CRC-32 in the gzip trailer.
        byte[] tar;
        using (var gunzipped = new System.IO.Compression.GZipStream(new MemoryStream(Dataset()), System.IO.Compression.CompressionMode.Decompress))
        using (var buffer = new MemoryStream())
        {
            gunzipped.CopyTo(buffer);
            tar = buffer.ToArray();
        }
        var random = new Random(1);
        byte[] trailing = new byte[1 << 20];
        random.NextBytes(trailing);
        byte[] archive;
        using (var output = new MemoryStream())
        {
            using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(tar);
                gzip.Write(trailing);
            }
            archive = output.ToArray();
        }
        archive[^8] ^= 0xFF;
        server.Serve("crc.tgz", archive);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Datasets.UntarDataAsync(server.Url("crc.tgz"), Options(temp)));
        Assert.Contains("corrupt or truncated", error.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));
    }

    [Fact]
    public async Task TruncatedArchiveWithoutContentLengthIsReportedAsCorrupt()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        server.Serve("tiny.tgz", new LocalHttpServer.Route(archive[..(archive.Length / 2)], SendLength: false));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Datasets.UntarDataAsync(server.Url("tiny.tgz"), Options(temp)));
        Assert.Contains("corrupt or truncated", error.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));
    }

    [Fact]
    public async Task CorruptArchiveIsReportedAndNothingIsKept()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        byte[] corrupt = archive.ToArray();
        for (int i = 10; i < corrupt.Length - 8; i++)
            corrupt[i] ^= 0x5A;
        server.Serve("bad.tgz", corrupt);
        server.Serve("page.tgz", "<html>Not an archive</html>"u8.ToArray());

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Datasets.UntarDataAsync(server.Url("bad.tgz"), Options(temp)));
        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
        var notArchive = await Assert.ThrowsAsync<InvalidDataException>(() => Datasets.UntarDataAsync(server.Url("page.tgz"), Options(temp)));
        Assert.Contains("not a .tgz", notArchive.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));
    }

    public static TheoryData<string> HostileArchives => new() { "dotdot", "absolute", "symlink-absolute", "symlink-up", "hardlink-up", "link-through-link", "fifo" };

    [Theory]
    [MemberData(nameof(HostileArchives))]
    public async Task HostileArchivesAreRefusedAndLeaveNothingBehind(string kind)
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        string outside = temp.Combine("outside.txt");
        Entry[] hostile = kind switch
        {
            "dotdot" => [Entry.File("ds/ok.txt", "ok"), Entry.File("ds/../../outside.txt", "evil")],
            "absolute" => [Entry.File("ds/ok.txt", "ok"), Entry.File(outside, "evil")],
            "symlink-absolute" => [Entry.File("ds/ok.txt", "ok"), Entry.Symlink("ds/link", temp.Path)],
            "symlink-up" => [Entry.File("ds/ok.txt", "ok"), Entry.Symlink("ds/link", "../../..")],
            "hardlink-up" => [Entry.File("ds/ok.txt", "ok"), Entry.Hardlink("ds/copy", "../outside.txt")],
            "link-through-link" => [Entry.Folder("ds/sub/"), Entry.Symlink("ds/here", "."), Entry.Symlink("ds/sub/escape", "../here/../../x")],
            _ => [Entry.File("ds/ok.txt", "ok"), new Entry("ds/pipe", Type: System.Formats.Tar.TarEntryType.Fifo)],
        };
        server.Serve("evil.tgz", Tgz(hostile));

        var error = await Assert.ThrowsAsync<UnsafeArchiveException>(() => Datasets.UntarDataAsync(server.Url("evil.tgz"), Options(temp)));

        Assert.Contains("Refusing to extract", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.Url("evil.tgz"), error.Message, StringComparison.Ordinal);
        Assert.Empty(CacheContents(temp));
        Assert.False(File.Exists(outside));
        Assert.Equal(["cache"], Directory.GetFileSystemEntries(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task LinksInsideTheDatasetAreKept()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        server.Serve("links.tgz", Tgz(
            Entry.File("ds/train/a/1.jpg", "a1"),
            Entry.Symlink("ds/train/b/1.jpg", "../a/1.jpg"),
            Entry.Hardlink("ds/train/c/1.jpg", "ds/train/a/1.jpg")));

        string root = await Datasets.UntarDataAsync(server.Url("links.tgz"), Options(temp));

        Assert.Equal("a1", File.ReadAllText(Path.Combine(root, "train", "b", "1.jpg")));
        Assert.Equal("../a/1.jpg", new FileInfo(Path.Combine(root, "train", "b", "1.jpg")).LinkTarget);
        Assert.Equal("a1", File.ReadAllText(Path.Combine(root, "train", "c", "1.jpg")));
    }

    [Fact]
    public async Task ZipArchivesAreExtractedAndHostileZipEntriesRefused()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        server.Serve("flat.zip", Zip(("train/", null), ("train/a/1.png", "x"), ("readme.txt", "hello")));
        server.Serve("evil.zip", Zip(("ok.txt", "ok"), ("../evil.txt", "evil")));

        string root = await Datasets.UntarDataAsync(server.Url("flat.zip"), Options(temp));
        Assert.Equal(Path.Combine(temp.Combine("cache"), "flat"), root);
        Assert.Equal("x", File.ReadAllText(Path.Combine(root, "train", "a", "1.png")));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(root, "readme.txt")));

        await Assert.ThrowsAsync<UnsafeArchiveException>(() => Datasets.UntarDataAsync(server.Url("evil.zip"), Options(temp)));
        Assert.Equal(["flat"], Directory.GetDirectories(temp.Combine("cache")).Select(Path.GetFileName));
        Assert.False(File.Exists(temp.Combine("evil.txt")));
    }

    [Fact]
    public async Task CancellationDuringDownloadLeavesNothing()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        server.Serve("slow.tgz", new LocalHttpServer.Route(archive, StallAfter: 100));
        using var cancel = new CancellationTokenSource();
        var options = Options(temp);
        options.Progress = new SyncProgress(p =>
        {
            if (p.Done > 0)
                cancel.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Datasets.UntarDataAsync(server.Url("slow.tgz"), options, cancel.Token));
        Assert.Empty(CacheContents(temp));
    }

    [Fact]
    public async Task KeptArchiveIsReusedForAForcedReextractionWithoutNetwork()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();
        byte[] archive = Dataset();
        server.Serve("tiny.tgz", archive);
        var options = Options(temp, new DownloadChecksum(archive.Length, Md5(archive)));
        options.KeepArchive = true;

        string root = await Datasets.UntarDataAsync(server.Url("tiny.tgz"), options);
        File.Delete(Path.Combine(root, "train", "a", "1.jpg"));
        options.ForceDownload = true;
        string again = await Datasets.UntarDataAsync(server.Url("tiny.tgz"), options);

        Assert.Equal(root, again);
        Assert.True(File.Exists(Path.Combine(root, "train", "a", "1.jpg")));
        Assert.True(File.Exists(Path.Combine(temp.Combine("cache"), "archives", "tiny.tgz")));
        Assert.Equal(1, server.Hits("tiny.tgz"));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(temp.Combine("cache")), p => Path.GetFileName(p).StartsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerErrorsAndBadUrlsAreReported()
    {
        using var server = new LocalHttpServer();
        using var temp = new TempFolder();

        var missing = await Assert.ThrowsAsync<HttpRequestException>(() => Datasets.UntarDataAsync(server.Url("missing.tgz"), Options(temp)));
        Assert.Contains("404", missing.Message, StringComparison.Ordinal);
        Assert.Contains(server.Url("missing.tgz"), missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Datasets.UntarDataAsync(server.Url("data.bin"), Options(temp)));
        await Assert.ThrowsAsync<ArgumentException>(() => Datasets.UntarDataAsync("ftp://example.com/x.tgz", Options(temp)));
        Assert.Empty(CacheContents(temp));
    }

    [Fact]
    public async Task LocalFileUrlsWork()
    {
        using var temp = new TempFolder();
        string path = temp.Combine("local.tgz");
        File.WriteAllBytes(path, Dataset("local"));

        string root = await Datasets.UntarDataAsync(new Uri(path).AbsoluteUri, Options(temp));
        Assert.True(File.Exists(Path.Combine(root, "val", "a", "3.jpg")));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Datasets.UntarDataAsync(new Uri(temp.Combine("nope.tgz")).AbsoluteUri, Options(temp)));
    }

    [Fact]
    public void KnownArchivesCarryFastAisPublishedChecks()
    {
        // fastai's checks.txt form: the exact size and the MD5 of the first MiB only, for every archive it publishes.
        DownloadChecksum check = Datasets.FindChecksum(Datasets.Imagenette160)!;
        Assert.Equal(99_003_388, check.Size);
        Assert.Equal(1 << 20, check.Md5PrefixLength);
        Assert.All(Datasets.All.Where(d => d.Url.EndsWith(".tgz", StringComparison.Ordinal)), d =>
        {
            Assert.NotNull(d.Checksum);
            Assert.Same(d.Checksum, Datasets.FindChecksum(d.Url));
            Assert.Equal(1 << 20, d.Checksum!.Md5PrefixLength);
            Assert.Matches("^[0-9a-f]{32}$", d.Checksum.Md5!);
            Assert.True(d.Checksum.Size > 1 << 20);
        });
        Assert.Null(Datasets.FindChecksum("https://example.com/other.tgz"));
        Assert.Equal("imagenette2-160", Datasets.Find("IMAGENETTE2-160")!.Name);
        Assert.Throws<ArgumentException>(() => new DownloadChecksum(Md5: "xyz").Validate());
    }

    [Fact]
    public void AFastAiCheckCoversTheSizeAndOnlyTheFirstMebibyte()
    {
        using var temp = new TempFolder();
        byte[] data = new byte[(1 << 20) + 4096];
        new Random(5).NextBytes(data);
        string path = temp.Combine("archive.tgz");
        File.WriteAllBytes(path, data);
        string firstMiB = Md5(data[..(1 << 20)]);

        Assert.True(FileDownloader.Matches(path, DownloadChecksum.FastAi(data.Length, firstMiB)));
        Assert.False(FileDownloader.Matches(path, DownloadChecksum.FastAi(data.Length, Md5(data))));       // whole-file digest
        Assert.False(FileDownloader.Matches(path, DownloadChecksum.FastAi(data.Length - 1, firstMiB)));    // wrong size
        Assert.True(FileDownloader.Matches(path, new DownloadChecksum(data.Length, Md5(data))));
        data[^1] ^= 1;                                                                                  // past the first MiB
        File.WriteAllBytes(path, data);
        Assert.True(FileDownloader.Matches(path, DownloadChecksum.FastAi(data.Length, firstMiB)));
        data[100] ^= 1;
        File.WriteAllBytes(path, data);
        Assert.False(FileDownloader.Matches(path, DownloadChecksum.FastAi(data.Length, firstMiB)));
    }

    [Fact]
    public void ProgressBarShowsFractionAndSize()
    {
        string line = ConsoleProgressBarText(new DownloadProgress("imagenette2-160", DownloadStage.Downloading, 50 * 1048576, 100 * 1048576));
        Assert.Contains("Downloading imagenette2-160 [###############...............]", line, StringComparison.Ordinal);
        Assert.Contains("50.0 MB/100.0 MB", line, StringComparison.Ordinal);
    }

    private static string ConsoleProgressBarText(DownloadProgress progress)
    {
        using var writer = new StringWriter();
        ConsoleProgressBar.ForDownloads(writer).Report(progress);
        return writer.ToString();
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to the thread pool, which would race the asserts).</summary>
    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
