using System.Text.Json;
using ResNet.MLNet.Data;
using ResNet.MLNet.Tests.Data;

namespace ResNet.MLNet.Tests.Cli;

/// <summary>Runs every training-related CLI command in-process on a tiny synthetic image folder.</summary>
public sealed class CliCommandTests(CliCommandTests.TrainedRun run) : IClassFixture<CliCommandTests.TrainedRun>
{
    /// <summary>One `train` run shared by the tests: 3 classes, a few images, one epoch of the plain CNN at 32 px.</summary>
    public sealed class TrainedRun : IDisposable
    {
        private readonly TempFolder _temp = new();

        public TrainedRun()
        {
            DataFolder = SyntheticImages.Create(_temp.Combine("data"), new SyntheticImagesOptions
            {
                ClassCount = 3, TrainImagesPerClass = 6, ValidImagesPerClass = 3, MinSize = 36, MaxSize = 48,
            });
            OutputFolder = _temp.Combine("run");
            Result = Run("train", "--data", DataFolder, "--arch", "SimpleCnn", "--epochs", "1", "--bs", "4",
                "--size", "32", "--presize", "40", "--lr", "1e-3", "--out", OutputFolder).GetAwaiter().GetResult();
        }

        public string DataFolder { get; }
        public string OutputFolder { get; }
        public (int Code, string Output, string Error) Result { get; }
        public string ModelPath => Path.Combine(OutputFolder, "model.zip");

        public void Dispose() => _temp.Dispose();
    }

    private static Task<(int Code, string Output, string Error)> Run(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public void TrainWritesTheModelHistoryPlotsAndMetrics()
    {
        Assert.True(run.Result.Code == 0, run.Result.Error + run.Result.Output);
        Assert.Contains("epoch", run.Result.Output, StringComparison.Ordinal);
        Assert.Contains("train_loss", run.Result.Output, StringComparison.Ordinal);
        foreach (string file in new[] { "model.zip", "history.csv", "history.json", "loss.png", "metrics.json", "confusion.png" })
            Assert.True(new FileInfo(Path.Combine(run.OutputFolder, file)).Length > 0, $"{file} missing or empty");

        string[] csv = File.ReadAllLines(Path.Combine(run.OutputFolder, "history.csv"));
        Assert.Equal("epoch,train_loss,valid_loss,accuracy,seconds,step_seconds,data_seconds,valid_seconds", csv[0]);
        Assert.Equal(2, csv.Length);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.OutputFolder, "metrics.json")));
        double accuracy = metrics.RootElement.GetProperty("accuracy").GetDouble();
        Assert.InRange(accuracy, 0, 1);
        Assert.Equal(3, metrics.RootElement.GetProperty("classes").GetArrayLength());
    }

    [Fact]
    public async Task EvaluateReportsTheSameAccuracyAsTrainingDid()
    {
        Assert.Equal(0, run.Result.Code);
        using var trainMetrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.OutputFolder, "metrics.json")));
        string evalFolder = Path.Combine(run.OutputFolder, "eval");

        var (code, output, error) = await Run("evaluate", "--model", run.ModelPath, "--data", run.DataFolder, "--out", evalFolder);

        Assert.True(code == 0, error);
        Assert.Matches(@"accuracy \d\.\d{4}   macro accuracy", output);
        Assert.True(File.Exists(Path.Combine(evalFolder, "evaluate-confusion.png")));
        using var evalMetrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalFolder, "evaluate-metrics.json")));
        Assert.Equal(trainMetrics.RootElement.GetProperty("accuracy").GetDouble(), evalMetrics.RootElement.GetProperty("accuracy").GetDouble(), 6);
        int support = evalMetrics.RootElement.GetProperty("classes").EnumerateArray().Sum(c => c.GetProperty("support").GetInt32());
        Assert.Equal(9, support);
    }

    [Fact]
    public async Task EvaluateWithoutOutWritesBesideTheModelAndNeverReplacesTrainingOutputs()
    {
        Assert.Equal(0, run.Result.Code);
        string[] training = ["metrics.json", "confusion.png"];
        var before = training.Select(f => File.ReadAllBytes(Path.Combine(run.OutputFolder, f))).ToArray();

        var (code, output, error) = await Run("evaluate", "--model", run.ModelPath, "--data", run.DataFolder, "--split", "train");

        Assert.True(code == 0, error);
        Assert.Contains("written: evaluate-metrics.json, evaluate-confusion.png", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run.OutputFolder, "evaluate-metrics.json")));
        for (int i = 0; i < training.Length; i++)
            Assert.Equal(before[i], File.ReadAllBytes(Path.Combine(run.OutputFolder, training[i])));
    }

    /// <summary>A copy of the training data whose val/ class folders are renamed by <paramref name="rename"/> (null: left out).</summary>
    private string ForeignData(string name, Func<string, string?> rename)
    {
        string root = Path.Combine(run.OutputFolder, name);
        foreach (string split in new[] { "train", "val" })
        {
            foreach (string classFolder in Directory.GetDirectories(Path.Combine(run.DataFolder, split)))
            {
                string? label = split == "train" ? Path.GetFileName(classFolder) : rename(Path.GetFileName(classFolder));
                if (label is null) continue;
                string target = Path.Combine(root, split, label);
                Directory.CreateDirectory(target);
                foreach (string file in Directory.GetFiles(classFolder)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }
        Directory.CreateDirectory(Path.Combine(root, "val"));
        return root;
    }

    [Fact]
    public async Task EvaluateOnLabelsTheModelNeverSawIsAnError()
    {
        Assert.Equal(0, run.Result.Code);
        string foreign = ForeignData("foreign", label => "other-" + label);

        var (code, _, error) = await Run("evaluate", "--model", run.ModelPath, "--data", foreign, "--allow-unknown-labels");

        Assert.Equal(1, code);
        Assert.StartsWith("error: none of the 9 images in the valid split of --data", error, StringComparison.Ordinal);
        Assert.Contains("has a label the model was trained on", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvaluateOnPartlyKnownLabelsNeedsTheFlagAndThenCountsTheRest()
    {
        Assert.Equal(0, run.Result.Code);
        string first = Directory.GetDirectories(Path.Combine(run.DataFolder, "val")).Select(Path.GetFileName).Order(StringComparer.Ordinal).First()!;
        string partial = ForeignData("partial", label => label == first ? label : "other-" + label);
        string evalFolder = Path.Combine(run.OutputFolder, "eval-partial");

        var (refused, _, error) = await Run("evaluate", "--model", run.ModelPath, "--data", partial, "--out", evalFolder);
        Assert.Equal(1, refused);
        Assert.Contains("6 of the 9 images in the valid split", error, StringComparison.Ordinal);
        Assert.Contains("pass --allow-unknown-labels to score only the other 3", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(evalFolder), "a refused evaluation must not leave its --out folder behind");

        var (code, output, error2) = await Run("evaluate", "--model", run.ModelPath, "--data", partial, "--out", evalFolder, "--allow-unknown-labels");
        Assert.True(code == 0, error2);
        Assert.Contains("3 images scored", output, StringComparison.Ordinal);
        Assert.Contains("left out: 6 images whose labels the model was not trained on (other-", output, StringComparison.Ordinal);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalFolder, "evaluate-metrics.json")));
        Assert.Equal(3, metrics.RootElement.GetProperty("classes").EnumerateArray().Sum(c => c.GetProperty("support").GetInt32()));
        Assert.InRange(metrics.RootElement.GetProperty("accuracy").GetDouble(), 0, 1);
    }

    [Fact]
    public async Task EvaluateOnAnEmptySplitIsAnError()
    {
        Assert.Equal(0, run.Result.Code);
        string empty = ForeignData("empty-val", _ => null);

        var (code, _, error) = await Run("evaluate", "--model", run.ModelPath, "--data", empty);

        Assert.Equal(1, code);
        Assert.Contains("the val/ folder holds no images, so there is nothing to evaluate", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PredictPrintsTopKClassesForEveryImageInAFolder()
    {
        Assert.Equal(0, run.Result.Code);
        string folder = Path.Combine(run.DataFolder, "val");

        var (code, output, error) = await Run("predict", "--model", run.ModelPath, "-k", "2", folder);

        Assert.True(code == 0, error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        var classes = Directory.GetDirectories(folder).Select(Path.GetFileName).ToHashSet();
        foreach (string line in lines)
        {
            string[] fields = line.Split('\t');
            Assert.Equal(5, fields.Length);
            Assert.True(File.Exists(fields[0]));
            Assert.Contains(fields[1], classes);
            Assert.True(float.Parse(fields[2]) >= float.Parse(fields[4]), "top-k must be sorted by probability");
        }
    }

    [Fact]
    public async Task LrFindPrintsSuggestionsAndWritesThePlot()
    {
        string plot = Path.Combine(run.OutputFolder, "lr_find.png");
        var (code, output, error) = await Run("lr-find", "--data", run.DataFolder, "--arch", "SimpleCnn", "--bs", "4",
            "--size", "32", "--presize", "40", "--out", plot);

        Assert.True(code == 0, error);
        Assert.Matches(@"valley \d", output);
        Assert.Matches(@"suggestion \(valley\): \d", output);
        Assert.True(new FileInfo(plot).Length > 1000);
    }

    [Theory]
    [InlineData("unknown architecture", "train", "--arch", "NoSuchNet", "--data", "synthetic")]
    [InlineData("neither a folder nor a known dataset", "train", "--data", "/no/such/folder", "--arch", "SimpleCnn")]
    [InlineData("--presize (32) must be at least --size (64)", "lr-find", "--size", "64", "--presize", "32")]
    [InlineData("No such image file or folder", "predict", "--model", "/no/model.zip", "/no/such.jpg")]
    public async Task BadInputExitsWithOneAndAClearMessage(string expected, params string[] args)
    {
        var (code, _, error) = await Run(args);

        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task EvaluateNamesATruncatedModelFile()
    {
        Assert.Equal(0, run.Result.Code);
        string broken = Path.Combine(run.OutputFolder, "truncated.zip");
        byte[] bytes = File.ReadAllBytes(run.ModelPath);
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 2)]);

        var (code, _, error) = await Run("evaluate", "--model", broken, "--data", run.DataFolder);

        Assert.Equal(1, code);
        Assert.Contains("truncated.zip", error, StringComparison.Ordinal);
    }
}
