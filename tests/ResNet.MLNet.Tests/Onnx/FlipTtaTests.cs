using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Tests.Serving;
using ResNet.MLNet.Training;
using TorchSharp;

namespace ResNet.MLNet.Tests.Onnx;

/// <summary>Flip TTA baked into the ONNX scoring graph: the mean of an image's and its mirror's probabilities.</summary>
public sealed class FlipTtaTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void TheFlipGraphAveragesTheImageAndItsMirror()
    {
        torch.manual_seed(9);
        using var network = Architectures.SimpleCnn.Create(3);
        OnnxExporterTests.RandomizeBatchNorms(network, 5);
        network.eval();
        var onnx = StockScoringModel.ExportScoringNetwork(network, ["a", "b", "c"], "Pixels", [3, 20, 23], flipTta: true);
        var x = OnnxExporterTests.RandomInput(4, 3 * 20 * 23);

        var outputs = OrtRunner.Run(onnx, ("Pixels", x, [1, 3, 20, 23]));

        var mirrored = new float[x.Length];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 20; y++)
                for (int col = 0; col < 23; col++)
                    mirrored[(c * 20 + y) * 23 + col] = x[(c * 20 + y) * 23 + 22 - col];
        var plain = OnnxExporterTests.TorchForward(network, x, [1, 3, 20, 23], softmax: true);
        var mirror = OnnxExporterTests.TorchForward(network, mirrored, [1, 3, 20, 23], softmax: true);
        var expected = plain.Zip(mirror, (p, m) => (p + m) / 2).ToArray();
        var score = outputs.Single(o => o.Name == ResNetTransformer.ScoreColumnName);
        Assert.Equal([3L], score.Shape);
        Assert.True(expected.Zip(score.Floats!, (a, b) => Math.Abs(a - b)).Max() <= 1e-4, "flip TTA scores differ from the mean of the two forward passes");
        Assert.True(plain.Zip(score.Floats!, (a, b) => Math.Abs(a - b)).Max() > 1e-4, "the mirror made no difference; the test input is too symmetric");
        Assert.Equal(Array.IndexOf(expected, expected.Max()), outputs.Single(o => o.Name == StockScoringModel.PredictedIndexColumnName).Int64s![0]);
    }

    [Fact]
    public void AFlipTtaModelScoresTheSameInMemoryAndReloaded()
    {
        var network = ((IEnumerable<ITransformer>)trained.Model).OfType<ResNetTransformer>().Single();
        var plain = trained.Model.Transform(trained.Data.Valid).GetColumn<float[]>("Score").ToArray();
        network.FlipTta = true;
        try
        {
            var inMemory = trained.Model.Transform(trained.Data.Valid).GetColumn<float[]>("Score").ToArray();
            string zip = trained.Combine("flip-tta.zip");
            trained.Ml.Model.Save(trained.Model, trained.Data.All.Schema, zip);

            var ml = new MLContext();
            var reloaded = ml.Model.Load(zip, out _).Transform(trained.Data.Valid).GetColumn<float[]>("Score").ToArray();
            double difference = inMemory.Zip(reloaded, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
            Assert.True(difference <= 1e-4, $"in-memory and reloaded flip TTA scores differ by {difference}");
            double change = inMemory.Zip(plain, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
            Assert.True(change > 1e-4, "flip TTA changed no score");
        }
        finally
        {
            network.FlipTta = false;
        }
    }
}
