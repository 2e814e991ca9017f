using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Tests.Training;
using ResNet.MLNet.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Modules;

/// <summary>
/// <see cref="ImageNetResNet18"/> with the weights of ML.NET's image featurizer package, checked against stock ML.NET's
/// <c>DnnFeaturizeImage</c> on decoded images: the oracle for the network, its padding and the loader.
/// </summary>
public sealed class ImageNetWeightsTests(ITestOutputHelper output) : IDisposable
{
    private const int Side = 224;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Six decoded JPEGs of the synthetic set at 224 px: planar RGB 0–255 (ML.NET's ExtractPixels) and ML.NET's 512 features.</summary>
    private (float[] Pixels, float[] Features, int Count) FeaturizeWithMlNet()
    {
        string root = SyntheticImages.Create(_folder.Combine("images"), new SyntheticImagesOptions
        {
            ClassCount = 3, TrainImagesPerClass = 2, ValidImagesPerClass = 0, MinSize = 120, MaxSize = 260, Seed = 5,
        });
        var paths = Directory.GetFiles(root, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => new PathRow { ImagePath = p }).ToArray();
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(paths);
        var pipeline = ml.Transforms.LoadImages("Image", null, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", Side, Side))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"));
        var scored = pipeline.Fit(data).Transform(data);
        var pixels = scored.GetColumn<VBuffer<float>>("Pixels").SelectMany(v => v.DenseValues()).ToArray();
        var features = scored.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues()).ToArray();
        return (pixels, features, paths.Length);
    }

    /// <summary>The featurizer's mean image as planar RGB (its file stores it BGR).</summary>
    private static float[] MeanImageRgb()
    {
        string prep = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(ImageNetWeights.Locate())!)!, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        var mean = OnnxModelFile.Read(prep).Initializers["MeanImage"];
        Assert.Equal([1L, 3, Side, Side], mean.Dims);
        const int plane = Side * Side;
        return [.. mean.Values.AsSpan(2 * plane, plane), .. mean.Values.AsSpan(plane, plane), .. mean.Values.AsSpan(0, plane)];
    }

    private static float[] PooledFeatures(ImageNetResNet18 network, Tensor input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return network.Body(input).mean([2, 3]).contiguous().data<float>().ToArray();
    }

    private static double RelativeDifference(float[] ours, float[] reference) =>
        ours.Zip(reference, (a, b) => Math.Abs((double)a - b)).Max() / reference.Max(v => Math.Abs((double)v));

    [Fact]
    public void ThePackagedWeightsGiveStockMlNetsFeatures()
    {
        NativeMemoryTuning.Apply();
        var (pixels, expected, count) = FeaturizeWithMlNet();
        Assert.Equal(count * 512, expected.Length);
        using var network = new ImageNetResNet18(4);
        ImageNetWeights.Load(network, ImageNetWeights.Locate());
        network.eval();

        // With the featurizer's mean image subtracted, as ML.NET does: the same network.
        var meanImage = MeanImageRgb();
        var centred = pixels.Select((v, i) => v - meanImage[i % meanImage.Length]).ToArray();
        using (var input = tensor(centred, [count, 3, Side, Side]))
        {
            double difference = RelativeDifference(PooledFeatures(network, input), expected);
            output.WriteLine($"mean image: max |ours − ML.NET| / max |ML.NET| = {difference:E2}");
            Assert.True(difference <= 1e-4, $"features differ from ML.NET's by {difference:E3} (relative)");
        }

        // What the network does itself (channel means of ImageNet-normalised input): reported, not asserted.
        var stats = ResNet.MLNet.Transforms.ImageStats.ImageNet;
        var normalised = pixels.Select((v, i) => (v / 255f - stats.Mean[i / (Side * Side) % 3]) / stats.Std[i / (Side * Side) % 3]).ToArray();
        using var scope = NewDisposeScope();
        using var z = tensor(normalised, [count, 3, Side, Side]);
        output.WriteLine("channel means instead of the mean image: max |difference| / max |ML.NET| = " +
            $"{RelativeDifference(PooledFeatures(network, network.ToWeightsInput(z)), expected):E2}");
    }

    [Fact]
    public void EveryLayerIsLoadedAndTheStemReadsRgb()
    {
        using var network = new ImageNetResNet18(3);
        var before = network.state_dict().Where(kv => !kv.Key.StartsWith("head.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        string path = ImageNetWeights.Locate();
        ImageNetWeights.Load(network, path);
        var after = network.state_dict();
        foreach (var (name, value) in before.Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
            Assert.False(value.eq(after[name]).all().item<bool>(), $"{name} was not loaded");
        Assert.Equal(22, before.Keys.Count(k => k.EndsWith("conv1.weight") || k.EndsWith("conv2.weight") || k.EndsWith("downsample.0.weight")));

        var graph = OnnxModelFile.Read(path);
        var stem = graph.Initializers[graph.Nodes.First(n => n.OpType == "Conv").Inputs[1]];
        using var loaded = network.state_dict()["conv1.weight"].contiguous();
        var values = loaded.data<float>().ToArray();
        const int window = 7 * 7;
        for (int c = 0; c < 3; c++)   // RGB filter c is the file's BGR filter 2 − c
            Assert.Equal(stem.Values.AsSpan((2 - c) * window, window).ToArray(), values.AsSpan(c * window, window).ToArray());
    }

    [Fact]
    public void OtherGraphsAndDamagedFilesAreRefusedNamingWhatDiffers()
    {
        using var network = new ImageNetResNet18(3);
        string torchVision = _folder.Combine("torchvision.onnx");
        using (var other = Architectures.TorchVisionResNet18.Create(3))
        {
            other.eval();
            File.WriteAllBytes(torchVision, OnnxExporter.Export(other));
        }
        var refused = Assert.Throws<InvalidDataException>(() => ImageNetWeights.Load(network, torchVision));
        output.WriteLine(refused.Message);
        Assert.Contains("is not the ResNet-18 body", refused.Message);
        Assert.Contains("node", refused.Message);

        string truncated = _folder.Combine("truncated.onnx");
        File.WriteAllBytes(truncated, File.ReadAllBytes(ImageNetWeights.Locate())[..100_000]);
        var damaged = Assert.Throws<InvalidDataException>(() => ImageNetWeights.Load(network, truncated));
        Assert.Contains("not an ONNX model", damaged.Message);
    }

    [Fact]
    public void AMissingPackageIsAnErrorThatSaysHowToGetIt()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => ImageNetWeights.Locate(_folder.Combine("app"), _folder.Combine("packages")));
        Assert.Contains("dotnet add package Microsoft.ML.DnnImageFeaturizer.ResNet18 --version 0.23.1", missing.Message);

        string copy = _folder.Combine("packages", "microsoft.ml.dnnimagefeaturizer.resnet18", "9.9.9", "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.WriteAllBytes(copy, File.ReadAllBytes(ImageNetWeights.Locate())[..1000]);
        var damaged = Assert.Throws<InvalidDataException>(() => ImageNetWeights.Locate(_folder.Combine("app"), _folder.Combine("packages")));
        Assert.Contains("SHA-256", damaged.Message);

        var wrongArchitecture = SquaresData.TrainerOptions();
        wrongArchitecture.InitialWeights = StartingWeights.ImageNet();
        var ml = new MLContext(0);
        var error = Assert.Throws<ArgumentException>(() => new ResNetTrainer(wrongArchitecture).Fit(SquaresData.Load(ml, 2, 1)));
        Assert.Contains("imagenet-resnet18", error.Message);
    }
}
