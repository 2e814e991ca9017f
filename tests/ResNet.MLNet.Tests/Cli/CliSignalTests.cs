using ResNet.MLNet.Data;
using ResNet.MLNet.IO;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Cli;

/// <summary>
/// The built CLI as a child process in its own process group, sent real signals while it writes its outputs (the
/// <see cref="AtomicFile.PauseBeforeCommitVariable"/> test hook holds the write at the worst moment: the new file
/// complete, the rename not yet done).
/// </summary>
public sealed class CliSignalTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly TempFolder _temp = new();
    private readonly string _data;

    public CliSignalTests()
    {
        _data = SyntheticImages.Create(_temp.Combine("data"), new SyntheticImagesOptions
        {
            ClassCount = 2, TrainImagesPerClass = 4, ValidImagesPerClass = 2, MinSize = 36, MaxSize = 40,
        });
    }

    private string[] TrainArgs(string output, params string[] more) =>
        ["train", "--data", _data, "--arch", "SimpleCnn", "--epochs", "1", "--bs", "4", "--size", "32", "--presize", "36",
         "--device", "cpu", "--out", output, .. more];

    [Fact]
    public async Task SigintWhileSavingTheModelKeepsTheOldModelAndExits130()
    {
        string output = _temp.Combine("run");
        Directory.CreateDirectory(output);
        string model = Path.Combine(output, "model.zip");
        byte[] previous = "the previous run's model"u8.ToArray();
        File.WriteAllBytes(model, previous);

        using var cli = CliProcess.Start(new Dictionary<string, string> { [AtomicFile.PauseBeforeCommitVariable] = "model.zip" }, TrainArgs(output));
        await cli.WaitForLineAsync("test hook: paused before committing", Timeout);
        cli.Signal(CliProcess.SigInt);
        int code = await cli.WaitForExitAsync(Timeout);

        Assert.True(code == 130, $"exit {code}\n{cli.Output}\n{cli.Error}");
        Assert.Contains("Cancelled.", cli.Error, StringComparison.Ordinal);
        Assert.Equal(previous, File.ReadAllBytes(model));
        Assert.Empty(Directory.GetFiles(output, "*.tmp"));
        Assert.False(File.Exists(Path.Combine(output, ".resnet-mlnet.lock")), "the lock must be released");
    }

    [Fact]
    public async Task SigintStopsACliStartedWhereSigintIsIgnoredAsInABackgroundJobOfAScript()
    {
        string output = _temp.Combine("run");
        // A non-interactive shell starts a background job with SIGINT and SIGQUIT ignored; this launcher does the same.
        string[] backgroundJob = ["sh", "-c", "trap '' INT QUIT; exec \"$@\"", "sh"];
        using var cli = CliProcess.Start(new Dictionary<string, string> { [AtomicFile.PauseBeforeCommitVariable] = "model.zip" },
            backgroundJob, TrainArgs(output));
        await cli.WaitForLineAsync("test hook: paused before committing", Timeout);
        cli.Signal(CliProcess.SigInt);
        int code = await cli.WaitForExitAsync(Timeout);

        Assert.True(code == 130, $"exit {code}\n{cli.Output}\n{cli.Error}");
        Assert.False(File.Exists(Path.Combine(output, "model.zip")));
    }

    [Fact]
    public async Task SigtermWhileWritingACheckpointFinishesItAndExits143()
    {
        string output = _temp.Combine("run");
        using var cli = CliProcess.Start(new Dictionary<string, string> { [AtomicFile.PauseBeforeCommitVariable] = "checkpoint.resnet-mlnet" },
            TrainArgs(output, "--checkpoints"));
        await cli.WaitForLineAsync("test hook: paused before committing", Timeout);
        cli.Signal(CliProcess.SigTerm);
        int code = await cli.WaitForExitAsync(Timeout);

        Assert.True(code == 143, $"exit {code}\n{cli.Output}\n{cli.Error}");
        Assert.Contains("Cancelled.", cli.Error, StringComparison.Ordinal);
        // The finished epoch's checkpoint is complete (a resumed run starts from it); nothing partial is left.
        string checkpoints = Path.Combine(output, "checkpoints");
        Assert.Equal([TrainingCheckpoint.FileName], Directory.GetFileSystemEntries(checkpoints).Select(Path.GetFileName));
        var (identity, network) = TrainingCheckpoint.ReadNetwork(TrainingCheckpoint.PathIn(checkpoints));
        network.Dispose();
        Assert.Equal(2, identity.ClassCount);
        Assert.False(File.Exists(Path.Combine(output, "model.zip")));
    }

    [Fact]
    public async Task ASecondTrainIntoTheSameFolderFailsNamingTheRunningOne()
    {
        string output = _temp.Combine("run");
        using var first = CliProcess.Start(new Dictionary<string, string> { [AtomicFile.PauseBeforeCommitVariable] = "model.zip" }, TrainArgs(output));
        await first.WaitForLineAsync("test hook: paused before committing", Timeout);
        string[] before = Directory.GetFileSystemEntries(output);

        var (code, _, error) = await CliRun.RunAsync(TrainArgs(output));

        Assert.Equal(1, code);
        Assert.StartsWith($"error: --out {output} is in use by another run (pid {first.Id},", error, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFileSystemEntries(output));
        first.Signal(CliProcess.SigInt);
        Assert.Equal(130, await first.WaitForExitAsync(Timeout));
    }

    /// <summary>Waits until the download's temporary file exists in <paramref name="cache"/> (the server then stalls mid-body).</summary>
    private static async Task<string> PartialDownloadAsync(string cache)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (true)
        {
            string? part = Directory.Exists(cache) ? Directory.GetFiles(cache, ".*.part.*.tmp").FirstOrDefault() : null;
            if (part is not null) return part;
            await Task.Delay(50, timeout.Token);
        }
    }

    [Fact]
    public async Task SigintDuringADownloadLeavesNothingInTheCache()
    {
        using var server = new LocalHttpServer();
        byte[] archive = TestArchives.Dataset("big");
        server.Serve("big.tgz", new LocalHttpServer.Route(archive, StallAfter: archive.Length / 2));
        string cache = _temp.Combine("cache");

        using var cli = CliProcess.Start(new Dictionary<string, string>(), "datasets", "download", server.Url("big.tgz"), "--cache", cache);
        await PartialDownloadAsync(cache);
        cli.Signal(CliProcess.SigInt);
        int code = await cli.WaitForExitAsync(Timeout);

        Assert.True(code == 130, $"exit {code}\n{cli.Output}\n{cli.Error}");
        Assert.Contains("Cancelled.", cli.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(cache));
    }

    [Fact]
    public async Task APartialDownloadOfAKilledRunIsRemovedByTheNextDownload()
    {
        using var server = new LocalHttpServer();
        byte[] archive = TestArchives.Dataset("big");
        server.Serve("big.tgz", new LocalHttpServer.Route(archive, StallAfter: archive.Length / 2));
        string cache = _temp.Combine("cache");

        using (var cli = CliProcess.Start(new Dictionary<string, string>(), "datasets", "download", server.Url("big.tgz"), "--cache", cache))
        {
            await PartialDownloadAsync(cache);
            cli.Signal(9);                                   // SIGKILL: no chance to clean up
            await cli.WaitForExitAsync(Timeout);
        }
        Assert.Single(Directory.GetFiles(cache, ".*.part.*.tmp"));

        server.Serve("big.tgz", archive);
        var (code, output, error) = await CliRun.RunAsync("datasets", "download", server.Url("big.tgz"), "--cache", cache);

        Assert.True(code == 0, error);
        Assert.Equal(Path.Combine(cache, "big"), output.Trim());
        Assert.Equal(["big"], Directory.GetFileSystemEntries(cache).Select(Path.GetFileName));
    }

    public void Dispose() => _temp.Dispose();
}
