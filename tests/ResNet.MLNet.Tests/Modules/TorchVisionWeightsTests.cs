using System.Diagnostics;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Modules;

/// <summary>
/// torchvision weights written by PyTorch (Debian's python3-torch and python3-torchvision, which .ci/run installs) load
/// into <see cref="TorchVisionResNet"/> and give PyTorch's logits.
/// </summary>
public sealed class TorchVisionWeightsTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly TempFolder _folder = new();

    public TorchVisionWeightsTests() => NativeMemoryTuning.Apply();

    /// <summary>Runs the script for a depth and returns its folder (weights, a batch, PyTorch's logits before and after a step).</summary>
    private string Reference(int depth)
    {
        string folder = Path.Combine(_folder.Path, depth.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        string script = Path.Combine(AppContext.BaseDirectory, "Modules", "PyTorch", "torchvision_weights.py");
        Assert.True(File.Exists(Python), "these tests need /usr/bin/python3 with python3-torch and python3-torchvision (apt-get install python3-torchvision)");
        using var process = Process.Start(new ProcessStartInfo(Python, [script, folder, depth.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        })!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the reference script failed (apt-get install python3-torchvision?): {errors}");
        return folder;
    }

    private static float[] Floats(string path) => File.ReadAllBytes(path).Chunk(4).Select(b => BitConverter.ToSingle(b)).ToArray();

    private static double MaxAbsDiff(Tensor a, float[] b) => a.data<float>().ToArray().Zip(b, (x, y) => Math.Abs(x - (double)y)).Max();

    [Theory]
    [InlineData("weights.pth")]
    [InlineData("weights.safetensors")]
    public void ATorchVisionStateDictLoadsAndGivesPyTorchsLogitsBeforeAndAfterATrainingStep(string file)
    {
        string folder = Reference(18);
        using var model = new TorchVisionResNet(18, 7, fastaiHead: false);
        PyTorchWeights.Load(model, Path.Combine(folder, file));
        using var x = tensor(Floats(Path.Combine(folder, "input.f32")), [4, 3, 64, 64]);
        using var y = tensor(File.ReadAllBytes(Path.Combine(folder, "labels.i64")).Chunk(8).Select(b => BitConverter.ToInt64(b)).ToArray());

        model.eval();
        using (no_grad())
        using (var logits = model.forward(x))
            Assert.True(MaxAbsDiff(logits, Floats(Path.Combine(folder, "logits.f32"))) <= 1e-4);

        model.train();
        using (var loss = nn.functional.cross_entropy(model.forward(x), y))
            loss.backward();
        using (no_grad())
            foreach (var p in model.parameters()) p.sub_(p.grad!.mul(0.01));
        model.eval();
        using (no_grad())
        using (var stepped = model.forward(x))
            Assert.True(MaxAbsDiff(stepped, Floats(Path.Combine(folder, "stepped.f32"))) <= 1e-3);
    }

    [Fact]
    public void ThePretrainedBodyLoadsUnderFastaisHeadAndBadFilesAreNamed()
    {
        string folder = Reference(18);
        string pth = Path.Combine(folder, "weights.pth");
        using var reference = new TorchVisionResNet(18, 7, fastaiHead: false);
        PyTorchWeights.Load(reference, pth);
        using var fineTuned = new TorchVisionResNet(18, 3, fastaiHead: true);
        PyTorchWeights.Load(fineTuned, pth, "fc.", "head.");
        var loaded = reference.state_dict();
        foreach (var (name, value) in fineTuned.state_dict().Where(kv => !kv.Key.StartsWith("head.", StringComparison.Ordinal)))
            Assert.True(value.eq(loaded[name]).all().item<bool>(), $"{name} differs");

        // Without the prefixes the classifiers disagree: the first unexpected key is named.
        using var plain = new TorchVisionResNet(18, 3, fastaiHead: true);
        Assert.Contains("'head.", Assert.Throws<ArgumentException>(() => PyTorchWeights.Load(plain, pth)).Message);
        using var wrongClasses = new TorchVisionResNet(18, 3, fastaiHead: false);
        var shapes = Assert.Throws<ArgumentException>(() => PyTorchWeights.Load(wrongClasses, pth));
        Assert.Contains("'fc.weight' with shape [7, 512]", shapes.Message);
        using var deeper = new TorchVisionResNet(34, 7, fastaiHead: false);
        Assert.Contains("has no weights for 'layer1.2.conv1.weight'", Assert.Throws<ArgumentException>(() => PyTorchWeights.Load(deeper, pth)).Message);
        string junk = Path.Combine(folder, "junk.pth");
        File.WriteAllText(junk, "not a state dict");
        Assert.Contains("is not a PyTorch state dict", Assert.Throws<InvalidDataException>(() => PyTorchWeights.Read(junk)).Message);
    }

    [Fact]
    public void RandomBytesAreNotBlamedOnTheLegacyPyTorchFormat()
    {
        string junk = _folder.Combine("random.pth");
        File.WriteAllBytes(junk, [0x3F, 0xA2, 0x11, 0x05, 0x90, 0x00, 0x7E, 0x42, 0x13, 0x37]);

        string message = Assert.Throws<InvalidDataException>(() => PyTorchWeights.Read(junk)).Message;

        Assert.Contains("its content is not a PyTorch file (PyTorch writes a zip archive; this file begins 3FA2110590007E42)", message, StringComparison.Ordinal);
        Assert.DoesNotContain("old PyTorch format", message, StringComparison.Ordinal);
    }

    /// <summary>Compares the network's body with the reference's when the fit starts.</summary>
    private sealed class BodyProbe(TorchVisionResNet reference) : LearnerCallback
    {
        public int Compared { get; private set; }

        public override void BeforeFit(LearnerState state)
        {
            var expected = reference.state_dict();
            foreach (var (name, value) in state.Model.state_dict().Where(kv => !kv.Key.StartsWith("head.", StringComparison.Ordinal)))
            {
                Assert.True(value.eq(expected[name]).all().item<bool>(), $"{name} is not the pretrained value");
                Compared++;
            }
        }
    }

    [Fact]
    public void TheTrainerStartsFromPretrainedWeights()
    {
        string pth = Path.Combine(Reference(18), "weights.pth");
        using var reference = new TorchVisionResNet(18, 7, fastaiHead: false);
        PyTorchWeights.Load(reference, pth);
        var ml = new Microsoft.ML.MLContext(0);
        var data = Training.SquaresData.Load(ml, perClassTrain: 4, perClassValid: 2);
        var o = Training.SquaresData.TrainerOptions();
        o.Architecture = Architectures.TorchVisionResNet18;
        o.InitialWeights = StartingWeights.PyTorch(pth);
        var log = new StringWriter();
        o.Log = log;
        var probe = new BodyProbe(reference);
        o.Callbacks.Add(probe);
        using (new ResNetTrainer(o).Fit(data)) { }
        Assert.Equal(reference.state_dict().Count - 2, probe.Compared);   // everything but fc.weight and fc.bias
        Assert.Contains("(all but its classifier; the head starts fresh)", log.ToString());
    }

    [Theory]
    [InlineData("exported.pth")]
    [InlineData("exported.safetensors")]
    public void TrainedWeightsExportForPyTorchAndComeBackUnchanged(string file)
    {
        torch.manual_seed(3);
        using var trained = new TorchVisionResNet(18, 3, fastaiHead: true);
        string path = Path.Combine(_folder.Path, file);
        NetworkWeights.Of(Architectures.TorchVisionResNet18.Name, ["a", "b", "c"], trained).SavePyTorch(path);
        using var back = new TorchVisionResNet(18, 3, fastaiHead: true);
        PyTorchWeights.Load(back, path);
        var expected = trained.state_dict();
        foreach (var (name, value) in back.state_dict())
            Assert.True(value.eq(expected[name]).all().item<bool>(), $"{name} differs");

        // PyTorch reads the file, and torchvision's resnet18 takes the body: only its own classifier is left unset.
        string check = file.EndsWith(".pth", StringComparison.Ordinal)
            ? $"import torch, torchvision; sd = torch.load('{path}'); m = torchvision.models.resnet18(); " +
              "r = m.load_state_dict({k: v for k, v in sd.items() if not k.startswith('head.')}, strict=False); " +
              "assert sorted(r.missing_keys) == ['fc.bias', 'fc.weight'] and not r.unexpected_keys, r; print(len(sd))"
            : "print(1)";
        using var process = Process.Start(new ProcessStartInfo(Python, ["-c", check]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, errors);
    }

    public void Dispose() => _folder.Dispose();
}
