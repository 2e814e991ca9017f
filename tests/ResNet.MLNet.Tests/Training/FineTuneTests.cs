using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

public class FineTuneTests
{
    /// <summary>Snapshots the weights at the start of the run and at the end of each of its fits.</summary>
    private sealed class Snapshots : LearnerCallback
    {
        public List<Dictionary<string, float[]>> AtFitEnds { get; } = [];
        public Dictionary<string, float[]>? AtStart { get; private set; }
        public List<(bool Frozen, bool BatchNormTrains)> Trainable { get; } = [];

        private static Dictionary<string, float[]> Take(LearnerState state) =>
            state.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).data<float>().ToArray());

        public override void BeforeFit(LearnerState state)
        {
            AtStart ??= Take(state);
            var parameters = state.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            Trainable.Add((!parameters["layer1.0.conv1.weight"].requires_grad, parameters["layer1.0.bn1.weight"].requires_grad));
        }

        public override void AfterFit(LearnerState state) => AtFitEnds.Add(Take(state));
    }

    /// <summary>fine_tune(1) of <paramref name="architecture"/> on the squares with <paramref name="callbacks"/>; returns the model and its log.</summary>
    private static (ResNetTransformer Model, StringWriter Log) FineTune(Architecture architecture, StartingWeights? pretrained, params LearnerCallback[] callbacks)
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        var o = SquaresData.TrainerOptions(epochs: 1);
        o.Architecture = architecture;
        o.InitialWeights = pretrained;
        o.Schedule = TrainingSchedule.FineTune();
        foreach (var callback in callbacks) o.Callbacks.Add(callback);
        var log = new StringWriter();
        o.Log = log;
        return (new ResNetTrainer(o).Fit(data), log);
    }

    [Fact]
    public void FineTuneTrainsTheHeadAndBatchNormFirstThenEverything()
    {
        var snapshots = new Snapshots();
        var (model, log) = FineTune(Architectures.TorchVisionResNet18, pretrained: null, snapshots);
        using var _ = model;

        Assert.Equal(2, snapshots.AtFitEnds.Count);
        Assert.Equal([(true, true), (false, true)], snapshots.Trainable);
        var start = snapshots.AtStart!;
        var frozenEnd = snapshots.AtFitEnds[0];
        bool Changed(Dictionary<string, float[]> a, Dictionary<string, float[]> b, string key) => !a[key].SequenceEqual(b[key]);
        Assert.False(Changed(start, frozenEnd, "layer1.0.conv1.weight"));   // body convolutions frozen
        Assert.False(Changed(start, frozenEnd, "layer4.1.conv2.weight"));
        Assert.True(Changed(start, frozenEnd, "layer1.0.bn1.weight"));      // BatchNorm trains (train_bn)
        Assert.True(Changed(start, frozenEnd, "head.8.weight"));            // the head trains
        Assert.True(Changed(frozenEnd, snapshots.AtFitEnds[1], "layer1.0.conv1.weight"));   // then everything
        Assert.Equal(2, model.History.Count);
        Assert.Contains("fine_tune: 1 epoch with the body frozen", log.ToString());
    }

    /// <summary>Records, after each backward pass, whether a body convolution and the head's last layer received gradients.</summary>
    private sealed class GradientProbe : LearnerCallback
    {
        public List<(bool Body, bool Head)> PerBackward { get; } = [];

        public override void AfterBackward(LearnerState state)
        {
            var parameters = state.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            PerBackward.Add((parameters["layer1.0.conv1.weight"].grad is not null, parameters["head.8.weight"].grad is not null));
        }
    }

    [Fact]
    public void TheImageNetBodyFineTunesFromThePackagedWeightsAndFrozenWeightsGetNoGradients()
    {
        var snapshots = new Snapshots();
        var gradients = new GradientProbe();
        var (model, log) = FineTune(Architectures.ImageNetResNet18, StartingWeights.ImageNet(), snapshots, gradients);
        using var _ = model;

        using var packaged = new ImageNetResNet18(4);
        ImageNetWeights.Load(packaged, ImageNetWeights.Locate());
        Assert.Equal(packaged.state_dict()["layer4.2.conv2.weight"].data<float>().ToArray(), snapshots.AtStart!["layer4.2.conv2.weight"]);
        Assert.Equal(snapshots.AtStart["layer4.2.conv2.weight"], snapshots.AtFitEnds[0]["layer4.2.conv2.weight"]);
        int frozenSteps = gradients.PerBackward.Count / 2;
        Assert.All(gradients.PerBackward.Take(frozenSteps), g => Assert.Equal((false, true), g));   // frozen: no weight gradients in the body
        Assert.All(gradients.PerBackward.Skip(frozenSteps), g => Assert.Equal((true, true), g));
        Assert.Contains("pretrained: loaded the ImageNet ResNet-18 body", log.ToString());
        Assert.Equal(2, model.History.Count);
    }

    [Fact]
    public void DiscriminativeLearningRatesAreSpacedGeometrically()
    {
        Assert.Equal(new[] { 0.01, 0.1, 1.0 }, ResNetTrainer.EvenMultipliers(0.01, 3).Select(m => Math.Round(m, 12)));
        Assert.Equal(new[] { 1.0 }, ResNetTrainer.EvenMultipliers(0.01, 1));
    }

    [Fact]
    public void NetworksWithoutParameterGroupsAndBadOptionsAreRefused()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        var o = SquaresData.TrainerOptions();
        o.Schedule = TrainingSchedule.FineTune();
        Assert.Contains("needs a network split into parameter groups", Assert.Throws<ArgumentException>(() => new ResNetTrainer(o).Fit(data)).Message);
        Assert.Throws<FileNotFoundException>(() => StartingWeights.PyTorch("/no/such/weights.pth"));
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainingSchedule.FineTune(learningRateMultiplier: 0.5f));
    }
}
