using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Onnx;

/// <summary>
/// The contract flow of design.md §1 on synthetic images: fit, evaluate, save model.zip, reload in-process and in a
/// separate process that has only stock ML.NET (tests/StockModelLoader), and compare.
/// </summary>
public sealed class StockReloadTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-contract-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private sealed record Scored(string Path, string Label, float[] Score);

    private static string LoaderPath()
    {
        // tests/ResNet.MLNet.Tests/bin/<Configuration>/<tfm>/ -> tests/StockModelLoader/bin/<Configuration>/<tfm>/
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = dir.Name, configuration = dir.Parent!.Name;
        var tests = dir.Parent.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(tests, "StockModelLoader", "bin", configuration, tfm, "StockModelLoader.dll");
    }

    private static (int ExitCode, string Stdout, string Stderr) RunLoader(params string[] args)
    {
        string loader = LoaderPath();
        Assert.True(File.Exists(loader), $"The stock loader was not built: {loader}");
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(loader)!, "ResNet.MLNet.dll")), "The stock loader folder must not contain ResNet.MLNet.dll.");
        var dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(loader);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }

    [Theory]
    [InlineData("ResBlockCnn", false)]
    [InlineData("imagenet-resnet18", true)]   // fine-tuned from the packaged ImageNet weights
    public void ContractFlowModelZipReloadsInProcessAndInAStockOnlyProcess(string architecture, bool pretrained)
    {
        NativeMemoryTuning.Apply();
        var root = SyntheticImages.Create(_root, new SyntheticImagesOptions
        {
            ClassCount = 3, TrainImagesPerClass = 8, ValidImagesPerClass = 4, MinSize = 40, MaxSize = 52, Seed = 2,
        });
        var ml = new MLContext(seed: 0);
        ImageFolder data = ml.Data.LoadImageFolder(root, validName: "val");

        var pipeline = ml.Transforms.ImageClassificationPreprocessing(new ImagePreprocessingOptions { Presize = 40, Size = 32 })
            .Append(ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
            {
                FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.Get(architecture),
                InitialWeights = pretrained ? StartingWeights.ImageNet() : null, Schedule = pretrained ? TrainingSchedule.FineTune() : TrainingSchedule.OneCycle,
                Epochs = 1, MaxLearningRate = pretrained ? 2e-3f : 1e-2f, BatchSize = 8, Device = "cpu", Seed = 1, Log = TextWriter.Null,
                ShowProgressBar = false,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        ITransformer model = pipeline.Fit(data.All);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
        string zip = Path.Combine(_root, "model.zip");
        ml.Model.Save(model, data.All.Schema, zip);
        output.WriteLine($"model.zip: {new FileInfo(zip).Length} bytes; accuracy {metrics.MicroAccuracy:F3}");

        var inMemory = Score(ml, model, data.Valid);

        // Reloaded in this process: same labels, probabilities within 1e-4, same metrics.
        var reloadMl = new MLContext();
        var loaded = reloadMl.Model.Load(zip, out _);
        var reloaded = Score(reloadMl, loaded, data.Valid);
        AssertSame(inMemory, reloaded);
        var reloadedMetrics = reloadMl.MulticlassClassification.Evaluate(loaded.Transform(data.Valid));
        int nearTies = inMemory.Count(s => NearTie(s.Score));
        Assert.InRange(Math.Abs(metrics.MicroAccuracy - reloadedMetrics.MicroAccuracy), 0, nearTies / (double)inMemory.Count);
        Assert.Equal(metrics.LogLoss, reloadedMetrics.LogLoss, 4);

        // The contract's PredictionEngine on the reloaded model.
        var engine = reloadMl.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded);
        var first = engine.Predict(new ImageInput { ImagePath = inMemory[0].Path });
        if (!NearTie(inMemory[0].Score)) Assert.Equal(inMemory[0].Label, first.PredictedLabel);
        Assert.Equal(data.Classes, ImagePrediction.GetClassNames(engine.OutputSchema));

        // A separate process with only stock ML.NET packages.
        var (exitCode, stdout, stderr) = RunLoader([zip, .. inMemory.Select(s => s.Path)]);
        Assert.True(exitCode == 0, $"stock loader exited with {exitCode}: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("classes\t" + string.Join(",", data.Classes), lines[0]);
        var external = lines.Skip(1).Select(line => line.Split('\t')).Select(f => new Scored(f[0], f[1],
            f[2].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray())).ToList();
        AssertSame(inMemory, external);

        // A missing image: the stock process fails and names the file.
        string missing = Path.Combine(_root, "no-such-image.jpg");
        var (missingExit, _, missingError) = RunLoader(zip, missing);
        output.WriteLine($"missing image: {missingError.Trim()}");
        Assert.Equal(4, missingExit);
        Assert.Contains("no-such-image.jpg", missingError);
        var inProcess = Assert.ThrowsAny<Exception>(() => engine.Predict(new ImageInput { ImagePath = missing }));
        output.WriteLine($"missing image in process: {inProcess.GetType().Name}: {inProcess.Message}");
        Assert.Contains("no-such-image.jpg", inProcess.ToString());
    }

    [Fact]
    public void StockLoaderReportsADamagedModelZip()
    {
        Directory.CreateDirectory(_root);
        string bad = Path.Combine(_root, "bad.zip");
        File.WriteAllBytes(bad, [0x50, 0x4B, 0x03, 0x04, 1, 2, 3]);
        var (exitCode, _, stderr) = RunLoader(bad, "x.jpg");
        Assert.Equal(4, exitCode);
        Assert.False(string.IsNullOrWhiteSpace(stderr));
    }

    private static List<Scored> Score(MLContext ml, ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        var paths = scored.GetColumn<string>("ImagePath").ToArray();
        var labels = scored.GetColumn<string>("PredictedLabel").ToArray();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        return paths.Select((p, i) => new Scored(p, labels[i], scores[i])).ToList();
    }

    /// <summary>Whether the two most probable classes are closer than the tolerance, so either may be predicted.</summary>
    private static bool NearTie(float[] probabilities)
    {
        var top = probabilities.OrderDescending().Take(2).ToArray();
        return top[0] - top[1] <= 1e-4;
    }

    private void AssertSame(List<Scored> expected, List<Scored> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        double maxDiff = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Path, actual[i].Path);
            if (!NearTie(expected[i].Score))
                Assert.True(expected[i].Label == actual[i].Label, $"{expected[i].Path}: {expected[i].Label} [{string.Join(", ", expected[i].Score)}] vs {actual[i].Label} [{string.Join(", ", actual[i].Score)}]");
            maxDiff = Math.Max(maxDiff, expected[i].Score.Zip(actual[i].Score, (a, b) => Math.Abs((double)a - b)).Max());
        }
        output.WriteLine($"max probability diff: {maxDiff:E2} over {expected.Count} images");
        Assert.True(maxDiff <= 1e-4, $"probabilities differ by {maxDiff}");
    }
}
