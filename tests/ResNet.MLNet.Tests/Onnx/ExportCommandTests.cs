using Microsoft.ML;
using ResNet.MLNet.Cli;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Tests.Training;
using ResNet.MLNet.Training;
using TorchSharp;

namespace ResNet.MLNet.Tests.Onnx;

public sealed class ExportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"resnet-mlnet-export-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class PixelRow
    {
        public float[] Pixels { get; set; } = [];
    }

    [Fact]
    public async Task ExportsTheNetworkOfAModelZipToAStandaloneOnnxFile()
    {
        torch.manual_seed(8);
        using var network = Architectures.SimpleCnn.Create(3);
        OnnxExporterTests.RandomizeBatchNorms(network, 4);
        network.eval();
        string[] classes = ["cat", "dog", "bird"];
        string zip = Path.Combine(_dir, "model.zip");
        using (var chain = StockScoringModel.Create(network, classes, "Pixels", [3, 33, 35]))
        {
            var ml = new MLContext();
            var definition = Microsoft.ML.Data.SchemaDefinition.Create(typeof(PixelRow));
            definition[0].ColumnType = new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, 3, 33, 35);
            ml.Model.Save(chain, ml.Data.LoadFromEnumerable(new List<PixelRow>(), definition).Schema, zip);
        }

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        string onnxPath = Path.Combine(_dir, "out", "net.onnx");
        int code = await CliApp.RunAsync(["export", "--model", zip, "-o", onnxPath], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("input  Pixels [1,3,33,35]", stdout.ToString());

        var x = OnnxExporterTests.RandomInput(3, 3 * 33 * 35);
        var outputs = OrtRunner.Run(File.ReadAllBytes(onnxPath), ("Pixels", x, [1, 3, 33, 35]));
        var score = outputs.Single(o => o.Name == ResNetTransformer.ScoreColumnName).Floats!;
        var expected = OnnxExporterTests.TorchForward(network, x, [1, 3, 33, 35], softmax: true);
        Assert.True(expected.Zip(score, (a, b) => Math.Abs(a - b)).Max() <= 1e-4);
        Assert.Equal(Array.IndexOf(expected, expected.Max()), outputs.Single(o => o.Name == StockScoringModel.PredictedIndexColumnName).Int64s![0]);
    }

    [Fact]
    public async Task ExportsTheNetworkOfATrainingCheckpoint()
    {
        NativeMemoryTuning.Apply();
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4);
        string checkpoints = Path.Combine(_dir, "checkpoints");
        using var trained = (ResNetTransformer)ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
        {
            FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn, Epochs = 1,
            BatchSize = 8, Device = "cpu", Seed = 2, Log = TextWriter.Null, ShowProgressBar = false, CheckpointDirectory = checkpoints,
        }).Fit(data);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        string onnxPath = Path.Combine(_dir, "checkpoint.onnx");
        int code = await CliApp.RunAsync(["export", "--model", checkpoints, "-o", onnxPath, "--softmax"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("SimpleCnn, 4 classes", stdout.ToString());
        Assert.Contains("input  input [-1,3,-1,-1]", stdout.ToString());

        long[] shape = [2, 3, SquaresData.Size, SquaresData.Size];
        var x = OnnxExporterTests.RandomInput(6, 2 * 3 * SquaresData.Size * SquaresData.Size);
        var probabilities = OrtRunner.Run(File.ReadAllBytes(onnxPath), ("input", x, shape))[0].Floats!;
        var expected = OnnxExporterTests.TorchForward(trained.Model, x, shape, softmax: true);
        Assert.True(expected.Zip(probabilities, (a, b) => Math.Abs(a - b)).Max() <= 1e-4);

        string notCheckpoint = Path.Combine(_dir, "empty.resnet-mlnet");
        File.WriteAllText(notCheckpoint, "nothing");
        stderr = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["export", "--model", notCheckpoint], new StringWriter(), stderr));
        Assert.Contains("empty.resnet-mlnet", stderr.ToString());
    }

    [Fact]
    public async Task ReportsDamagedOrForeignFiles()
    {
        string notZip = Path.Combine(_dir, "broken.zip");
        File.WriteAllText(notZip, "not a zip");
        var stderr = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["export", "--model", notZip], new StringWriter(), stderr));
        Assert.Contains("broken.zip", stderr.ToString());

        stderr = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["export", "--model", Path.Combine(_dir, "missing.zip")], new StringWriter(), stderr));
        Assert.Contains("missing.zip", stderr.ToString());

        // A valid model.zip without a network.
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(new List<PixelRow>());
        string foreign = Path.Combine(_dir, "foreign.zip");
        ml.Model.Save(ml.Transforms.CopyColumns("Copy", "Pixels").Fit(data), data.Schema, foreign);
        stderr = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["export", "--model", foreign], new StringWriter(), stderr));
        Assert.Contains("no ResNet.MLNet network", stderr.ToString());
    }
}
