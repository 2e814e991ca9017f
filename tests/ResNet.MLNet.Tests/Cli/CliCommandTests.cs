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
        string[] fields = csv[1].Split(',');
        Assert.InRange(double.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture), 0, 1);    // accuracy
        Assert.True(double.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) > 0);        // valid_loss
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
        var printed = System.Text.RegularExpressions.Regex.Match(output, @"accuracy (\d+\.\d{4})   macro accuracy");
        Assert.True(printed.Success, output);
        double accuracy = double.Parse(printed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(accuracy, 0, 1);
        Assert.True(File.Exists(Path.Combine(evalFolder, "evaluate-confusion.png")));
        using var evalMetrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalFolder, "evaluate-metrics.json")));
        Assert.Equal(trainMetrics.RootElement.GetProperty("accuracy").GetDouble(), evalMetrics.RootElement.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal(accuracy, evalMetrics.RootElement.GetProperty("accuracy").GetDouble(), 4);
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

    /// <summary>A folder with two good images (one with a tab and a newline in its name), bad ones and hidden ones.</summary>
    private (string Folder, string Good, string Odd, string Empty, string Text) MixedImages(string name)
    {
        string folder = Path.Combine(run.OutputFolder, name);
        Directory.CreateDirectory(Path.Combine(folder, ".hidden"));
        string source = Directory.GetFiles(Path.Combine(run.DataFolder, "val"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        string good = Path.Combine(folder, "a-good.jpg"), odd = Path.Combine(folder, "b-odd\tname\n.jpg");
        string empty = Path.Combine(folder, "c-empty.jpg"), text = Path.Combine(folder, "d-text.jpg");
        File.Copy(source, good);
        File.Copy(source, odd);
        File.WriteAllBytes(empty, []);
        File.WriteAllText(text, "not an image");
        File.Copy(source, Path.Combine(folder, ".e-hidden.jpg"));
        File.Copy(source, Path.Combine(folder, ".hidden", "f.jpg"));
        return (folder, good, odd, empty, text);
    }

    [Fact]
    public async Task InitFromAnotherArchitectureFailsBeforeTheDataIsRead()
    {
        Assert.Equal(0, run.Result.Code);
        string noImages = Path.Combine(run.OutputFolder, "no-images");
        Directory.CreateDirectory(noImages);

        var (code, _, error) = await Run("train", "--data", noImages, "--arch", "ResNet18Chapter", "--init", run.ModelPath,
            "--out", Path.Combine(run.OutputFolder, "init-run"));

        Assert.Equal(1, code);
        Assert.StartsWith($"error: --init {run.ModelPath} holds a SimpleCnn network, but --arch is ResNet18Chapter", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PredictRefusesAFifoWithoutOpeningItAndPredictsTheRest()
    {
        Assert.Equal(0, run.Result.Code);
        string folder = Path.Combine(run.OutputFolder, "with-fifo");
        Directory.CreateDirectory(folder);
        string good = Path.Combine(folder, "a.jpg");
        File.Copy(Directory.GetFiles(Path.Combine(run.DataFolder, "val"), "*.*", SearchOption.AllDirectories)[0], good);
        string fifo = Path.Combine(folder, "b.jpg");
        Fifo.Create(fifo);

        // A child process: opening the FIFO would block it for good, and the test run with it.
        using var cli = CliProcess.Start(new Dictionary<string, string>(), "predict", "--model", run.ModelPath, folder);
        int code = await cli.WaitForExitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(1, code);
        Assert.StartsWith(good + "\t", cli.Output, StringComparison.Ordinal);
        Assert.Contains($"'{fifo}' is a FIFO (named pipe), not a regular file", cli.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PredictReportsBadImagesCarriesOnAndFailsAtTheEnd()
    {
        Assert.Equal(0, run.Result.Code);
        var (folder, good, odd, empty, text) = MixedImages("mixed-tsv");

        var (code, output, error) = await Run("predict", "--model", run.ModelPath, folder);

        Assert.Equal(1, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);                                             // hidden files and folders skipped
        Assert.Equal(good, lines[0].Split('\t')[0]);
        Assert.Equal(folder + "/b-odd\\tname\\n.jpg", lines[1].Split('\t')[0]);   // tab and newline escaped
        Assert.Equal(3, lines[1].Split('\t').Length);
        string[] errors = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, errors.Length);
        Assert.All(errors, e => Assert.StartsWith("error: ", e, StringComparison.Ordinal));
        Assert.Contains(empty, errors[0], StringComparison.Ordinal);
        Assert.Contains(text, errors[1], StringComparison.Ordinal);
        Assert.Contains("2 of 4 images could not be read", errors[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task PredictJsonGivesOneObjectPerImage()
    {
        Assert.Equal(0, run.Result.Code);
        var (folder, good, odd, empty, _) = MixedImages("mixed-json");

        var (code, output, _) = await Run("predict", "--model", run.ModelPath, "--json", "-k", "2", folder);

        Assert.Equal(1, code);
        var objects = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l)).ToArray();
        Assert.Equal(4, objects.Length);
        Assert.Equal([good, odd, empty], objects.Take(3).Select(o => o.RootElement.GetProperty("path").GetString()));
        var predictions = objects[1].RootElement.GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(2, predictions.Length);
        Assert.InRange(predictions[0].GetProperty("probability").GetDouble(), predictions[1].GetProperty("probability").GetDouble(), 1);
        Assert.Contains(empty, objects[2].RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        foreach (var o in objects) o.Dispose();
    }

    [Fact]
    public async Task EvaluateRefusesABadImageNamingIt()
    {
        Assert.Equal(0, run.Result.Code);
        string data = ForeignData("bad-image", label => label);
        string bad = Directory.GetFiles(Path.Combine(data, "val"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        byte[] whole = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, whole[..(whole.Length / 2)]);

        var (code, _, error) = await Run("evaluate", "--model", run.ModelPath, "--data", data);

        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(bad, error, StringComparison.Ordinal);
        Assert.Contains("truncated", error, StringComparison.Ordinal);
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
    [InlineData("--model /no/model.zip does not exist", "predict", "--model", "/no/model.zip", "/no/such.jpg")]
    public async Task BadInputExitsWithOneAndAClearMessage(string expected, params string[] args)
    {
        var (code, _, error) = await Run(args);

        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PredictNamesAMissingImagePath()
    {
        Assert.Equal(0, run.Result.Code);
        var (code, _, error) = await Run("predict", "--model", run.ModelPath, "/no/such.jpg");

        Assert.Equal(1, code);
        Assert.Equal("error: No such image file or folder: /no/such.jpg", error.TrimEnd());
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
