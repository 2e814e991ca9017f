using ResNet.MLNet.Tests.Cli;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Tests.Data;

public class DatasetsCommandTests
{
    private static Task<(int Code, string Output, string Error)> Run(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task ListsKnownDatasetsWithTheirCacheStatus()
    {
        using var temp = new TempFolder();
        var (code, output, error) = await Run("datasets", "--cache", temp.Path);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains($"Dataset cache: {temp.Path}", output, StringComparison.Ordinal);
        Assert.Matches(@"imagenette2-160\s+-\s+94 MB\s+Imagenette", output);
        Assert.Contains("imagewoof2-320", output, StringComparison.Ordinal);
        Assert.Contains("fashion-mnist", output, StringComparison.Ordinal);
        Assert.Matches(@"synthetic\s+-\s", output);
    }

    [Fact]
    public async Task SyntheticGeneratesIntoTheCacheAndShowsUpInTheListing()
    {
        using var temp = new TempFolder();
        var (code, output, error) = await Run("datasets", "synthetic", "--cache", temp.Path, "--classes", "2",
            "--train-per-class", "3", "--valid-per-class", "1", "--min-size", "20", "--max-size", "24", "--png");

        Assert.True(code == 0, error);
        Assert.Contains("2 classes, 6 training and 2 validation images", output, StringComparison.Ordinal);
        string root = output.Trim().Split('\n')[^1].Trim();
        Assert.StartsWith(temp.Path, root, StringComparison.Ordinal);
        Assert.Equal(6, Directory.GetFiles(Path.Combine(root, "train"), "*.png", SearchOption.AllDirectories).Length);

        var listing = await Run("datasets", "--cache", temp.Path);
        Assert.Matches(@"synthetic\s+cached\s.*synthetic-2c-seed0-", listing.Output);
    }

    [Fact]
    public async Task DownloadFetchesAnArchiveUrlAndReportsUnknownNames()
    {
        using var temp = new TempFolder();
        using var server = new LocalHttpServer();
        server.Serve("tiny.tgz", TestArchives.Dataset("tiny"));

        var (code, output, error) = await Run("datasets", "download", server.Url("tiny.tgz"), "--cache", temp.Combine("cache"));
        Assert.True(code == 0, error);
        Assert.Equal(Path.Combine(temp.Combine("cache"), "tiny"), output.Trim());
        Assert.Equal(2, ImageFolder.Load(output.Trim()).TrainCount);

        var unknown = await Run("datasets", "download", "imagenet-mini", "--cache", temp.Combine("cache"));
        Assert.Equal(1, unknown.Code);
        Assert.Contains("Unknown dataset 'imagenet-mini'", unknown.Error, StringComparison.Ordinal);
        Assert.Contains("imagenette2-160", unknown.Error, StringComparison.Ordinal);

        server.Serve("evil.tgz", TestArchives.Tgz(TestArchives.Entry.File("../evil.txt", "x")));
        var evil = await Run("datasets", "download", server.Url("evil.tgz"), "--cache", temp.Combine("cache"));
        Assert.Equal(1, evil.Code);
        Assert.Contains("error: Refusing to extract", evil.Error, StringComparison.Ordinal);
    }
}
