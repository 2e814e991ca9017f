using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Modules;

public class ModelTests
{
    public ModelTests() => NativeMemoryTuning.Apply();

    public static TheoryData<string, int> ShapeCases() => new()
    {
        { "SimpleCnn", 32 }, { "SimpleCnn", 65 }, { "ResBlockCnn", 33 }, { "ResBlockCnn", 64 },
        { "DeepResBlockCnn", 48 }, { "ResNet18Chapter", 32 }, { "ResNet18Chapter", 71 },
        { "ResNet34Chapter", 40 }, { "ResNet50Chapter", 32 }, { "ResNet50Chapter", 57 },
    };

    [Theory]
    [MemberData(nameof(ShapeCases))]
    public void EveryArchitectureMapsImagesOfAnySizeToClassLogits(string name, int size)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(0);
        var model = Architectures.Get(name).Create(7);
        model.eval();
        var logits = model.forward(randn(2, 3, size, size));
        Assert.Equal(new long[] { 2, 7 }, logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    // Parameter counts from the layer formulas: conv k×k without bias = ni·nf·k², BatchNorm = 2·nf, Linear = f·c + c.
    private static long Conv(long ni, long nf, long k = 3) => ni * nf * k * k + 2 * nf;
    private static long Block(long ni, long nf) => Conv(ni, nf) + Conv(nf, nf) + (ni == nf ? 0 : Conv(ni, nf, 1));
    private static long BottleneckBlock(long ni, long nf) =>
        Conv(ni, nf / 4, 1) + Conv(nf / 4, nf / 4) + Conv(nf / 4, nf, 1) + (ni == nf ? 0 : Conv(ni, nf, 1));
    private static long Linear(long f, long c) => f * c + c;

    private static long PlainCount(Func<long, long, long> block, long classes)
    {
        long[] widths = { 3, 16, 32, 64, 128, 256 };
        long total = Linear(256, classes);
        for (int i = 0; i < 5; i++) total += block(widths[i], widths[i + 1]);
        return total;
    }

    private static long ResNetCount(int[] layers, int expansion, long classes)
    {
        long[] sizes = { 64, 64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion };
        long total = Conv(3, 32) + Conv(32, 32) + Conv(32, 64) + Linear(sizes[4], classes);
        for (int stage = 0; stage < 4; stage++)
            for (int i = 0; i < layers[stage]; i++)
            {
                long ni = i == 0 ? sizes[stage] : sizes[stage + 1];
                total += expansion == 1 ? Block(ni, sizes[stage + 1]) : BottleneckBlock(ni, sizes[stage + 1]);
            }
        return total;
    }

    [Fact]
    public void ParameterCountsMatchTheLayerFormulas()
    {
        const int c = 10;
        var expected = new Dictionary<string, long>
        {
            ["SimpleCnn"] = PlainCount((ni, nf) => Conv(ni, nf), c),
            ["ResBlockCnn"] = PlainCount(Block, c),
            ["DeepResBlockCnn"] = PlainCount((ni, nf) => Block(ni, nf) + Block(nf, nf), c),
            ["ResNet18Chapter"] = ResNetCount(new[] { 2, 2, 2, 2 }, 1, c),
            ["ResNet34Chapter"] = ResNetCount(new[] { 3, 4, 6, 3 }, 1, c),
            ["ResNet50Chapter"] = ResNetCount(new[] { 3, 4, 6, 3 }, 4, c),
        };
        foreach (var (name, count) in expected)
        {
            using var model = Architectures.Get(name).Create(c);
            long actual = model.parameters().Sum(p => p.numel());
            Assert.True(count == actual, $"{name}: formula {count}, model {actual}");
        }
        // Sanity anchors: the plain CNN is small, the ResNet-50 style is in the tens of millions.
        Assert.InRange(expected["SimpleCnn"], 300_000, 500_000);
        Assert.InRange(expected["ResNet50Chapter"], 20_000_000, 30_000_000);
    }

    [Fact]
    public void ConvLayerUsesFastaiInitialisation()
    {
        var layer = new ConvLayer(8, 16);
        var zero = new ConvLayer(8, 16, activation: false, norm: NormType.BatchZero);
        Assert.Null(layer.Conv.bias);
        Assert.Equal(1f, layer.Norm.weight!.mean().item<float>());
        Assert.Equal(0f, zero.Norm.weight!.abs().max().item<float>());
        Assert.Equal(1e-3f, layer.Norm.bias!.mean().item<float>(), 6);
        double bound = Math.Sqrt(6.0 / (8 * 3 * 3));
        float maxWeight = layer.Conv.weight!.abs().max().item<float>();
        Assert.InRange(maxWeight, bound * 0.8, bound);
    }

    public static TheoryData<string> BlockCases() => new() { "identity", "pool+idconv", "bottleneck", "simple" };

    [Theory]
    [MemberData(nameof(BlockCases))]
    public void WithBatchZeroAResidualBranchStartsAtTheBatchNormBias(string kind)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        nn.Module<Tensor, Tensor> block = kind switch
        {
            "identity" => new ResBlock(16, 16),
            "pool+idconv" => new ResBlock(8, 16, stride: 2),
            "bottleneck" => new Bottleneck(16, 32, stride: 2),
            _ => new SimpleResBlock(16),
        };
        var x = randn(3, kind == "pool+idconv" ? 8 : 16, 9, 9);
        var y = block.forward(x);

        // The last BatchNorm of the branch has weight 0, so the branch outputs its bias (1e-3) everywhere and the
        // block equals (ReLU of) the identity path shifted by 1e-3.
        Tensor expected = kind switch
        {
            "simple" => x + 1e-3,
            "identity" => (x + 1e-3).relu(),
            _ => IdentityPath((ResidualBlock)block, x).add(1e-3).relu(),
        };
        Assert.Equal(expected.shape, y.shape);
        Assert.True((y - expected).abs().max().item<float>() < 1e-5f);
    }

    private static Tensor IdentityPath(ResidualBlock block, Tensor x)
    {
        var id = block.Pool is null ? x : block.Pool.forward(x);
        return block.IdConv is null ? id : block.IdConv.forward(id);
    }

    [Fact]
    public void GradientsReachTheFirstLayerAndAFewStepsReduceTheLoss()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(2);
        var model = Architectures.ResNet18Chapter.Create(3);
        var x = randn(6, 3, 32, 32);
        var y = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        var optimizer = optim.Adam(model.parameters(), lr: 1e-3);

        float first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            if (step == 0)
            {
                var stemGrad = model.parameters().First().grad!;
                Assert.True(stemGrad.abs().sum().item<float>() > 0, "the first conv received no gradient");
                first = loss.item<float>();
            }
            last = loss.item<float>();
            optimizer.step();
        }
        Assert.True(last < first * 0.5f, $"loss {first} -> {last}");
    }
}
