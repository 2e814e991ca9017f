using ResNet.MLNet.Data;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Tests.IO;

namespace ResNet.MLNet.Tests.Cli;

/// <summary>
/// Options, the output folder and its lock are checked before any download, data loading or training; every error is
/// one <c>error:</c> line in the CLI's terms. The data folder here has no train/ folder, so a check that ran after
/// loading would report that instead.
/// </summary>
public sealed class CliFailFastTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly string _emptyData;

    public CliFailFastTests()
    {
        _emptyData = _temp.Combine("no-images");
        Directory.CreateDirectory(_emptyData);
    }

    private string Out => _temp.Combine("run");

    private static void AssertOneErrorLine(string error, string expected)
    {
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--epochs must be at least 1, got 0.", "--epochs", "0")]
    [InlineData("--lr must be a positive finite number", "--lr", "nan")]
    [InlineData("--lr must be a positive finite number", "--lr", "-1")]
    [InlineData("--bs must be at least 1, got 0.", "--bs", "0")]
    [InlineData("--size must be between 32 and 4096 pixels, got 100000.", "--size", "100000", "--presize", "100000")]
    [InlineData("--min-scale must lie in (0, 1]", "--min-scale", "1.5")]
    [InlineData("--device must be auto, cpu, cuda or cuda:N", "--device", "tpu")]
    [InlineData("--bs 1: every architecture here normalises with BatchNorm", "--bs", "1")]
    [InlineData("--label-smoothing must lie in [0, 1), got 2.", "--label-smoothing", "2")]
    [InlineData("--mixup must be 0 (off) or a positive α, got -1.", "--mixup", "-1")]
    [InlineData("--cutmix must be 0 (off) or a positive α, got -1.", "--cutmix", "-1")]
    [InlineData("--accumulate must be at least 1, got 0.", "--accumulate", "0")]
    [InlineData("--early-stop must be at least 1, got 0.", "--early-stop", "0")]
    [InlineData("--monitor must be valid_loss, accuracy or error_rate, got 'loss'.", "--monitor", "loss")]
    [InlineData("--freeze-epochs must be at least 0, got -1.", "--freeze-epochs", "-1")]
    [InlineData("--lr-mult must be at least 1, got 0.", "--lr-mult", "0")]
    public async Task BadOptionsFailBeforeTheDataIsRead(string expected, params string[] option)
    {
        var (code, _, error) = await CliRun.RunAsync(["train", "--data", _emptyData, "--out", Out, .. option]);

        Assert.Equal(1, code);
        AssertOneErrorLine(error, expected);
        Assert.False(Directory.Exists(Out), "a failed run must not leave its --out folder behind");
    }

    [Fact]
    public async Task BadOptionsFailBeforeAnyDownload()
    {
        string cache = _temp.Combine("cache");
        var (code, _, error) = await CliRun.RunAsync("train", "--data", "imagenette2-160", "--cache", cache, "--epochs", "0", "--out", Out);

        Assert.Equal(1, code);
        AssertOneErrorLine(error, "--epochs");
        Assert.False(Directory.Exists(cache));
    }

    [Fact]
    public async Task ResumeWithoutACheckpointIsAnError()
    {
        var (code, _, error) = await CliRun.RunAsync("train", "--data", _emptyData, "--out", Out, "--resume");

        Assert.Equal(1, code);
        AssertOneErrorLine(error, "--resume: there is no checkpoint at " + Path.Combine(Out, "checkpoints"));
        var (withoutOut, _, error2) = await CliRun.RunAsync("train", "--data", _emptyData, "--resume");
        Assert.Equal(1, withoutOut);
        AssertOneErrorLine(error2, "--resume needs --out");
    }

    [Fact]
    public async Task AnUnwritableOutFolderIsReportedFirst()
    {
        string file = _temp.Combine("a-file");
        File.WriteAllText(file, "");

        var (code, _, error) = await CliRun.RunAsync("train", "--data", _emptyData, "--out", Path.Combine(file, "run"));

        Assert.Equal(1, code);
        AssertOneErrorLine(error, $"--out {Path.Combine(file, "run")} is not writable");
    }

    [Fact]
    public async Task ASecondRunIntoALockedFolderFailsNamingTheHolder()
    {
        Directory.CreateDirectory(Out);
        string lockFile = Path.Combine(Out, ".resnet-mlnet.lock");
        File.WriteAllText(lockFile, $"{Environment.ProcessId}\n");    // held by a live process: this one

        var (code, _, error) = await CliRun.RunAsync("train", "--data", _emptyData, "--out", Out);

        Assert.Equal(1, code);
        AssertOneErrorLine(error, $"is in use by another run (pid {Environment.ProcessId}");
        Assert.Equal([lockFile], Directory.GetFileSystemEntries(Out));
        Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(lockFile));
    }

    [Fact]
    public async Task ALockLeftByADeadRunIsTakenOver()
    {
        Directory.CreateDirectory(Out);
        int gone = AtomicFileTests.ExitedProcessId();
        File.WriteAllText(Path.Combine(Out, ".resnet-mlnet.lock"), $"{gone}\n");
        File.WriteAllText(Path.Combine(Out, $".model.zip.{gone}-00c0ffee.tmp"), "half a model");

        var (code, output, error) = await CliRun.RunAsync("train", "--data", _emptyData, "--out", Out);

        Assert.Equal(1, code);
        Assert.Contains($"taking over the lock on {Out} left by a run that no longer runs (pid {gone})", output, StringComparison.Ordinal);
        AssertOneErrorLine(error, "has no train/ folder");   // got as far as the data
        Assert.Empty(Directory.GetFileSystemEntries(Out));     // lock released, stale temporary removed
    }

    [Fact]
    public async Task ASingleClassIsRefusedBeforeTraining()
    {
        string data = SyntheticImages.Create(_temp.Combine("one-class"), new SyntheticImagesOptions
        {
            ClassCount = 1, TrainImagesPerClass = 4, ValidImagesPerClass = 2, MinSize = 36, MaxSize = 40,
        });

        var (code, _, error) = await CliRun.RunAsync("train", "--data", data, "--arch", "SimpleCnn", "--bs", "2", "--out", Out);

        Assert.Equal(1, code);
        AssertOneErrorLine(error, "holds a single class");
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public async Task ExplodingTrainingIsAnErrorAndSavesNoModel()
    {
        string data = SyntheticImages.Create(_temp.Combine("two-classes"), new SyntheticImagesOptions
        {
            ClassCount = 2, TrainImagesPerClass = 8, ValidImagesPerClass = 2, MinSize = 36, MaxSize = 40,
        });

        var (code, output, error) = await CliRun.RunAsync("train", "--data", data, "--arch", "SimpleCnn", "--epochs", "2", "--bs", "4",
            "--size", "32", "--presize", "36", "--lr", "1000", "--device", "cpu", "--out", Out);

        Assert.True(code == 1, output + error);
        AssertOneErrorLine(error, "error: Training diverged: ");
        Assert.Contains("Lower --lr (try `resnet-mlnet lr-find`)", error, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxLearningRate", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Out, "model.zip")));
    }

    [Theory]
    [InlineData("--max-n must be at least 1, got 0.", "show-batch", "--max-n", "0")]
    [InlineData("--size must be between 8 and 4096 pixels, got 100000.", "show-batch", "--size", "100000")]
    [InlineData("--classes must be between 1 and", "datasets", "synthetic", "--classes", "0")]
    [InlineData("--min-size must be at least 16 pixels", "datasets", "synthetic", "--min-size", "3")]
    [InlineData("--top must be at least 1, got 0.", "predict", "--model", "/no/model.zip", "-k", "0", "/no/such.jpg")]
    [InlineData("--max-pixels must be at least 1, got 0.", "evaluate", "--model", "/no/model.zip", "--max-pixels", "0")]
    [InlineData("--out runs/x: lr-find writes one .png file and --out names it, e.g. --out runs/x/lr_find.png", "lr-find", "--out", "runs/x")]
    [InlineData("--out plots: show-batch writes one .png file", "show-batch", "--out", "plots")]
    [InlineData("--out model: export writes one .onnx or .pth or .pt or .safetensors file", "export", "--model", "/no/model.zip", "--out", "model")]
    public async Task OtherCommandsNameTheirFlags(string expected, params string[] args)
    {
        var (code, _, error) = await CliRun.RunAsync([.. args, .. args[0] == "datasets" ? new[] { "-o", Out } : []]);

        Assert.Equal(1, code);
        AssertOneErrorLine(error, expected);
        Assert.False(Directory.Exists(Out));
    }

    [Theory]
    [InlineData("Cannot parse argument 'abc' for option '--epochs'", "train", "--epochs", "abc")]
    [InlineData("Unrecognized command or argument '--no-such-flag'", "train", "--no-such-flag")]
    [InlineData("Option '--model' is required", "evaluate")]
    [InlineData("Option '--model' is required", "export")]
    public async Task ParseErrorsAreOneErrorLine(string expected, params string[] args)
    {
        var (code, _, error) = await CliRun.RunAsync(args);

        Assert.Equal(1, code);
        AssertOneErrorLine(error, expected);
    }

    [Fact]
    public async Task DataHelpListsEveryDatasetOnce()
    {
        var (code, output, _) = await CliRun.RunAsync("train", "--help");

        Assert.Equal(0, code);
        string help = string.Join(' ', output.Split((char[])['\n', ' '], StringSplitOptions.RemoveEmptyEntries));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(help, "fashion-mnist"));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(help, "imagenette2-160"));
    }

    public void Dispose() => _temp.Dispose();
}
