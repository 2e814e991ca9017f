using ResNet.MLNet.Data;
using ResNet.MLNet.Tests.Data;

namespace ResNet.MLNet.Tests.Cli;

/// <summary>The built CLI leaves nothing in <c>$TMPDIR</c>, whether a command succeeds or fails.</summary>
public sealed class CliTempFileTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly TempFolder _temp = new();
    private readonly string _data;
    private readonly string _tmp;

    public CliTempFileTests()
    {
        _data = SyntheticImages.Create(_temp.Combine("data"), new SyntheticImagesOptions
        {
            ClassCount = 2, TrainImagesPerClass = 4, ValidImagesPerClass = 2, MinSize = 36, MaxSize = 40,
        });
        _tmp = Directory.CreateDirectory(_temp.Combine("tmp")).FullName;
    }

    /// <summary>Runs the CLI with <c>$TMPDIR</c> pointing at the test's own folder; returns the exit code.</summary>
    private async Task<int> Run(params string[] args)
    {
        // ORT_DISABLE_TELEMETRY: ONNX Runtime's own session file ($TMPDIR/.ses, one per machine, reused) stays out of the count.
        using var cli = CliProcess.Start(new Dictionary<string, string> { ["TMPDIR"] = _tmp, ["ORT_DISABLE_TELEMETRY"] = "1" }, args);
        return await cli.WaitForExitAsync(Timeout);
    }

    private string[] TrainArgs(string output, params string[] more) =>
        ["train", "--data", _data, "--arch", "SimpleCnn", "--epochs", "1", "--bs", "4", "--size", "32", "--presize", "36",
         "--device", "cpu", "--image-cache", "memory", "--out", output, .. more];

    [Fact]
    public async Task TrainEvaluateAndPredictLeaveNoTemporaryFilesBehind()
    {
        Assert.Empty(Directory.GetFileSystemEntries(_tmp));
        string run = _temp.Combine("run");
        string model = Path.Combine(run, "model.zip");

        Assert.Equal(0, await Run(TrainArgs(run)));
        Assert.Empty(Directory.GetFileSystemEntries(_tmp));
        Assert.Equal(0, await Run("evaluate", "--model", model, "--data", _data, "--image-cache", "memory", "--tta", "--out", _temp.Combine("eval")));
        Assert.Empty(Directory.GetFileSystemEntries(_tmp));
        Assert.Equal(0, await Run("predict", "--model", model, Path.Combine(_data, "val")));
        Assert.Empty(Directory.GetFileSystemEntries(_tmp));
        Assert.Equal(1, await Run(TrainArgs(_temp.Combine("diverged"), "--epochs", "2", "--lr", "100")));   // fails after the pipeline is fitted
        Assert.Empty(Directory.GetFileSystemEntries(_tmp));
    }

    public void Dispose() => _temp.Dispose();
}
