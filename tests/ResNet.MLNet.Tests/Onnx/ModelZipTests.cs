using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Tests.Training;
using ResNet.MLNet.Training;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Onnx;

/// <summary>A trained model saved as model.zip through the stock ML.NET chain, reloaded and compared.</summary>
public sealed class ModelZipTests(ModelZipTests.TrainedModel trained, ITestOutputHelper output) : IClassFixture<ModelZipTests.TrainedModel>
{
    /// <summary>One small trained model shared by the tests (SimpleCnn, 16 px squares, 2 epochs).</summary>
    public sealed class TrainedModel : IDisposable
    {
        public TrainedModel()
        {
            NativeMemoryTuning.Apply();
            Ml = new MLContext(seed: 0);
            Data = SquaresData.Load(Ml, perClassTrain: 24, perClassValid: 8);
            Valid = Ml.Data.FilterByCustomPredicate<ValidFlag>(Data, r => !r.IsValid);
            Model = (ResNetTransformer)Ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
            {
                FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
                Epochs = 2, MaxLearningRate = 1e-2f, BatchSize = 16, Device = "cpu", Seed = 3, Log = TextWriter.Null,
                ShowProgressBar = false,
            }).Fit(Data);
            Directory = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-zip-{Guid.NewGuid():N}");
            System.IO.Directory.CreateDirectory(Directory);
            ZipPath = Path.Combine(Directory, "model.zip");
            Ml.Model.Save(Model, Data.Schema, ZipPath);
        }

        public MLContext Ml { get; }
        public IDataView Data { get; }
        public IDataView Valid { get; }
        public ResNetTransformer Model { get; }
        public string Directory { get; }
        public string ZipPath { get; }

        public void Dispose()
        {
            Model.Dispose();
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    public sealed class ValidFlag
    {
        public bool IsValid { get; set; }
    }

    private static string[] Annotation(DataViewSchema.Column column, string kind)
    {
        VBuffer<ReadOnlyMemory<char>> values = default;
        column.Annotations.GetValue(kind, ref values);
        return values.DenseValues().Select(v => v.ToString()).ToArray();
    }

    [Fact]
    public void ReloadedModelZipPredictsTheSameLabelsProbabilitiesAndMetrics()
    {
        var ml = new MLContext(seed: 1);
        var loaded = ml.Model.Load(trained.ZipPath, out var inputSchema);
        Assert.NotNull(inputSchema.GetColumnOrNull("Pixels"));

        var before = trained.Model.Transform(trained.Valid);
        var after = loaded.Transform(trained.Valid);

        Assert.Equal(SquaresData.Classes, Annotation(after.Schema["Score"], "SlotNames"));
        Assert.Equal(SquaresData.Classes, Annotation(after.Schema["PredictedLabel"], "KeyValues"));
        Assert.Equal(before.Schema["PredictedLabel"].Type, after.Schema["PredictedLabel"].Type);
        Assert.Equal(before.Schema["Score"].Type, after.Schema["Score"].Type);

        var labelsBefore = before.GetColumn<uint>("PredictedLabel").ToArray();
        var labelsAfter = after.GetColumn<uint>("PredictedLabel").ToArray();
        Assert.Equal(labelsBefore, labelsAfter);
        Assert.Equal(32, labelsAfter.Length);
        Assert.All(labelsAfter, k => Assert.InRange(k, 1u, 4u));

        double maxDiff = before.GetColumn<float[]>("Score").Zip(after.GetColumn<float[]>("Score"))
            .SelectMany(p => p.First.Zip(p.Second, (a, b) => Math.Abs((double)a - b))).Max();
        output.WriteLine($"max probability diff in-memory vs reloaded: {maxDiff:E2}; model.zip {new FileInfo(trained.ZipPath).Length} bytes");
        Assert.True(maxDiff <= 1e-4, $"probabilities differ by {maxDiff}");

        var m1 = trained.Ml.MulticlassClassification.Evaluate(before);
        var m2 = ml.MulticlassClassification.Evaluate(after);
        Assert.Equal(m1.MicroAccuracy, m2.MicroAccuracy);
        Assert.Equal(m1.MacroAccuracy, m2.MacroAccuracy);
        Assert.Equal(m1.LogLoss, m2.LogLoss, 4);
        Assert.Equal(m1.ConfusionMatrix.Counts.Select(r => r.ToArray()), m2.ConfusionMatrix.Counts.Select(r => r.ToArray()));
    }

    [Fact]
    public void StockChainMatchesTheTorchSharpForwardPass()
    {
        using var chain = StockScoringModel.Create(trained.Model.Model, SquaresData.Classes, "Pixels", [3, SquaresData.Size, SquaresData.Size]);
        var scored = chain.Transform(trained.Valid);
        var pixels = trained.Valid.GetColumn<float[]>("Pixels").ToArray();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var labels = scored.GetColumn<uint>("PredictedLabel").ToArray();
        for (int i = 0; i < pixels.Length; i++)
        {
            var expected = OnnxExporterTests.TorchForward(trained.Model.Model, pixels[i], [1, 3, SquaresData.Size, SquaresData.Size], softmax: true);
            Assert.True(expected.Zip(scores[i], (a, b) => Math.Abs(a - b)).Max() <= 1e-4);
            Assert.Equal((uint)(Array.IndexOf(expected, expected.Max()) + 1), labels[i]);
        }
    }

    [Fact]
    public void PredictionEngineOnReloadedModelReturnsClassNames()
    {
        var ml = new MLContext();
        var loaded = ml.Model.Load(trained.ZipPath, out _);
        var withNames = loaded.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(loaded.Transform(trained.Data)));
        var engine = ml.Model.CreatePredictionEngine<SquaresData.Row, ImagePrediction>(withNames);
        var row = SquaresData.Rows(0, 1, seed: 5)[2];
        var prediction = engine.Predict(row);
        Assert.Contains(prediction.PredictedLabel, SquaresData.Classes);
        Assert.Equal(4, prediction.Score.Length);
        var classNames = ImagePrediction.GetClassNames(engine.OutputSchema);
        Assert.Equal(SquaresData.Classes, classNames);
        var top = prediction.TopK(2, classNames);
        Assert.Equal(prediction.PredictedLabel, top[0].Label);
        Assert.True(top[0].Probability >= top[1].Probability);
    }

    [Fact]
    public void TruncatedOrCorruptedModelZipGivesAClearError()
    {
        var bytes = File.ReadAllBytes(trained.ZipPath);
        var truncated = Path.Combine(trained.Directory, "truncated.zip");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var corrupted = Path.Combine(trained.Directory, "corrupted.zip");
        var damaged = (byte[])bytes.Clone();
        for (int i = bytes.Length / 3; i < bytes.Length / 3 + 4096 && i < damaged.Length; i++) damaged[i] ^= 0x5A;
        File.WriteAllBytes(corrupted, damaged);

        foreach (var path in new[] { truncated, corrupted })
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelZip.Load(new MLContext(), path, out _));
            Assert.Contains(Path.GetFileName(path), e.Message);
            output.WriteLine(e.Message);
        }
        Assert.Throws<FileNotFoundException>(() => ModelZip.Load(new MLContext(), Path.Combine(trained.Directory, "missing.zip"), out _));
    }

    [Fact]
    public void ADamagedOnnxGraphIsOneLineWithoutStackTraceOrTemporaryPath()
    {
        // The zip stays valid; the bytes of the network's ONNX graph (the largest OnnxModel entry) are garbage.
        var damaged = Path.Combine(trained.Directory, "damaged-graph.zip");
        File.Copy(trained.ZipPath, damaged, overwrite: true);
        using (var zip = System.IO.Compression.ZipFile.Open(damaged, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Where(e => e.Name == "OnnxModel").MaxBy(e => e.Length)!;
            int length;
            using (var reader = new BinaryReader(entry.Open())) length = reader.ReadInt32();
            string name = entry.FullName;
            entry.Delete();
            using var writer = new BinaryWriter(zip.CreateEntry(name).Open());
            writer.Write(length);
            writer.Write(Enumerable.Repeat((byte)0x7F, length).ToArray());
        }

        var e = Assert.Throws<InvalidDataException>(() => ModelZip.Load(new MLContext(), damaged, out _));

        Assert.StartsWith($"'{damaged}' is not a loadable ML.NET model.zip", e.Message, StringComparison.Ordinal);
        Assert.Contains("its ONNX graph failed to load: Protobuf parsing failed.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Microsoft.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Load model from", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("resnet-mlnet-scratch", e.Message, StringComparison.Ordinal);
        Assert.Null(e.InnerException);
    }
}
