using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class ContinueTrainingTests
{
    private const int Larger = 24;

    private static ResNetTrainer.Options Options(int epochs = 1) => SquaresData.TrainerOptions(epochs);

    private sealed class LargerRow
    {
        [VectorType(3, Larger, Larger)]
        public float[] Pixels { get; set; } = [];
        public string Label { get; set; } = "";
        public bool IsValid { get; set; }
    }

    /// <summary>The squares at 24 px (nearest-neighbour), the same classes in the same key order.</summary>
    private static IDataView LargerSquares(MLContext ml)
    {
        const int s = SquaresData.Size;
        var rows = SquaresData.Rows(4, 2, seed: 5).Select(r =>
        {
            var pixels = new float[3 * Larger * Larger];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < Larger; y++)
                    for (int x = 0; x < Larger; x++)
                        pixels[(c * Larger + y) * Larger + x] = r.Pixels[(c * s + y * s / Larger) * s + x * s / Larger];
            return new LargerRow { Pixels = pixels, Label = r.Label, IsValid = r.IsValid };
        });
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
    }

    /// <summary>At the first training batch, compares the network's logits with the source model's on the same images.</summary>
    private sealed class FirstBatchProbe(nn.Module<Tensor, Tensor> source) : LearnerCallback
    {
        public double? LargestDifference { get; private set; }

        public override void BeforeBatch(LearnerState state)
        {
            if (!state.Training || LargestDifference is not null) return;
            using var noGrad = torch.no_grad();
            state.Model.eval();
            using var ours = state.Model.forward(state.Input!);
            using var theirs = source.forward(state.Input!);
            LargestDifference = ours.sub(theirs).abs().max().item<float>();
            state.Model.train();
        }
    }

    [Fact]
    public void ContinuingAtANewSizeStartsFromTheSourceWeights()
    {
        var ml = new MLContext(0);
        using var first = new ResNetTrainer(Options()).Fit(SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2));
        var larger = LargerSquares(ml);

        var probe = new FirstBatchProbe(first.Model);
        var o = Options();
        o.InitialWeights = StartingWeights.Trained(first);
        o.Callbacks.Add(probe);
        var log = new StringWriter();
        o.Log = log;
        using var continued = new ResNetTrainer(o).Fit(larger);
        Assert.Equal(0, probe.LargestDifference!.Value, 5);
        Assert.Contains("training continues from the weights of Options.InitialWeights", log.ToString());
        Assert.Equal(new[] { 3, Larger, Larger }, continued.ImageShape);

        // Without it the run starts from fresh weights: the same probe sees different logits.
        var fresh = new FirstBatchProbe(first.Model);
        var scratch = Options();
        scratch.Callbacks.Add(fresh);
        using (new ResNetTrainer(scratch).Fit(larger))
            Assert.True(fresh.LargestDifference!.Value > 1e-3);
    }

    [Fact]
    public void WeightsTravelInModelZipAndAnotherArchitectureOrOtherClassesAreRefused()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        using var first = new ResNetTrainer(Options()).Fit(data);
        using var folder = new TempFolder();
        string zip = Path.Combine(folder.Path, "model.zip");
        ml.Model.Save(first, data.Schema, zip);
        NetworkWeights.Of(first).AddTo(zip);
        Assert.NotNull(new MLContext().Model.Load(zip, out _));   // stock loading ignores the extra entry

        var weights = NetworkWeights.Load(folder.Path);
        Assert.Equal(SquaresData.Classes, weights.ClassNames);
        var probe = new FirstBatchProbe(first.Model);
        var o = Options();
        o.InitialWeights = StartingWeights.Trained(weights);
        o.Callbacks.Add(probe);
        using (new ResNetTrainer(o).Fit(data))
            Assert.Equal(0, probe.LargestDifference!.Value, 5);

        var otherNet = Options();
        otherNet.Architecture = Architectures.ResBlockCnn;
        otherNet.InitialWeights = StartingWeights.Trained(weights);
        Assert.Contains("holds a SimpleCnn network", Assert.Throws<ArgumentException>(() => new ResNetTrainer(otherNet).Fit(data)).Message);

        var renamed = ml.Data.LoadFromEnumerable(SquaresData.Rows(4, 2).Select(r => { r.Label = r.Label == "red" ? "crimson" : r.Label; return r; }));
        var otherClasses = ml.Transforms.Conversion.MapValueToKey("Label").Fit(renamed).Transform(renamed);
        var o2 = Options();
        o2.InitialWeights = StartingWeights.Trained(weights);
        var error = Assert.Throws<ArgumentException>(() => new ResNetTrainer(o2).Fit(otherClasses));
        Assert.Contains("same classes in the same order", error.Message);

        File.Copy(zip, Path.Combine(folder.Path, "plain.zip"));
        ml.Model.Save(first, data.Schema, Path.Combine(folder.Path, "plain.zip"));
        Assert.Contains("no ResNet.MLNet/network.weights entry",
            Assert.Throws<InvalidDataException>(() => NetworkWeights.Load(Path.Combine(folder.Path, "plain.zip"))).Message);
    }
}
