using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

/// <summary>A network the trained model could not be saved from fails when Fit starts, not after its epochs.</summary>
public class ExportabilityCheckTests
{
    [Fact]
    public void AnUnexportableModuleFailsAtFitStartNamingItsPathAndType()
    {
        var architecture = new Architecture("GeluNet", classes => Network(classes, nn.GELU()), defaultImageSize: 32);
        var (error, epochs, log) = FitFails(architecture);

        Assert.Equal("Architecture 'GeluNet': module 'body.2.act' (GELU) cannot be written to ONNX, so the trained model could not be " +
            "saved as model.zip; build it from the modules of ResNet.MLNet.Modules and TorchSharp's Sequential, Conv2d, BatchNorm2d, " +
            "BatchNorm1d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Linear, Identity, Dropout, Dropout2d instead.", error.Message);
        Assert.Equal(0, epochs);
        Assert.DoesNotContain("train_loss", log);
    }

    [Fact]
    public void AModuleConfigurationWithoutOnnxFormFailsAtFitStart()
    {
        var architecture = new Architecture("PaddedNet", classes => Network(classes, nn.Conv2d(8, 8, 3, padding: 1, padding_mode: PaddingModes.Reflect)));
        var (error, epochs, _) = FitFails(architecture);

        Assert.StartsWith("Architecture 'PaddedNet' cannot be written to ONNX, so the trained model could not be saved as model.zip: ", error.Message);
        Assert.Contains("Conv2d 'body.2.act' uses padding mode Reflect", error.Message);
        Assert.Equal(0, epochs);
    }

    /// <summary>Two ConvLayers, then <paramref name="last"/> as <c>body.2.act</c>, then pool, flatten and linear.</summary>
    private static nn.Module<Tensor, Tensor> Network(int classes, nn.Module<Tensor, Tensor> last) => nn.Sequential(
        ("body", nn.Sequential(
            ("0", new ConvLayer(3, 8, stride: 2)),
            ("1", new ConvLayer(8, 8, stride: 2)),
            ("2", nn.Sequential(("act", last))))),
        ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(8, classes)));

    private static (ArgumentException Error, int Epochs, string Log) FitFails(Architecture architecture)
    {
        var ml = new MLContext(seed: 0);
        var data = SquaresData.Load(ml, perClassTrain: 8, perClassValid: 4);
        var counter = new EpochCounter();
        var log = new StringWriter();
        var options = SquaresData.TrainerOptions();
        options.Architecture = architecture;
        options.ValidationColumnName = "IsValid";
        options.Log = log;
        options.Callbacks.Add(counter);
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.ResNet(options).Fit(data));
        return (error, counter.Epochs, log.ToString());
    }

    private sealed class EpochCounter : LearnerCallback
    {
        public int Epochs { get; private set; }
        public override void BeforeEpoch(LearnerState state) => Epochs++;
    }
}
