using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// The chapter's models, each a few lines as in the book. All are TorchSharp <see cref="Sequential"/>s of
/// <see cref="ConvLayer"/>s and residual blocks, end in AdaptiveAvgPool2d(1) → Flatten → Linear, and accept any
/// input size of at least 32 px.
/// </summary>
public static class Models
{
    private static readonly long[] PlainWidths = { 3, 16, 32, 64, 128, 256 };

    /// <summary>(A) The plain CNN: stride-2 ConvLayers 3→16→32→64→128→256, pool, flatten, linear.</summary>
    public static Sequential SimpleCnn(int numClasses) =>
        Stages(numClasses, (ni, nf) => new ConvLayer(ni, nf, stride: 2));

    /// <summary>(B) The plain CNN with every ConvLayer replaced by a stride-2 <see cref="ResBlock"/>.</summary>
    public static Sequential ResBlockCnn(int numClasses) =>
        Stages(numClasses, (ni, nf) => new ResBlock(ni, nf, stride: 2));

    /// <summary>(C) Two ResBlocks per stage: ResBlock(ni, nf, stride 2) → ResBlock(nf, nf).</summary>
    public static Sequential DeepResBlockCnn(int numClasses) =>
        Stages(numClasses, (ni, nf) => nn.Sequential(("0", new ResBlock(ni, nf, stride: 2)), ("1", new ResBlock(nf, nf))));

    /// <summary>
    /// fastai's <c>ResNet(n_out, layers, expansion)</c>: the 3→32→32→64 stem with MaxPool2d(3, 2, 1), then four
    /// stages of <paramref name="layers"/>[i] blocks (widths 64, 64·e, 128·e, 256·e, 512·e; the first block of stage
    /// i &gt; 0 has stride 2), pool, flatten, linear. Expansion 1 uses <see cref="ResBlock"/>, larger expansions use
    /// <see cref="Bottleneck"/>.
    /// </summary>
    public static Sequential ResNet(int numClasses, IReadOnlyList<int> layers, int expansion = 1)
    {
        if (layers.Count != 4 || layers.Any(n => n < 1))
            throw new ArgumentException("ResNet needs four stages with at least one block each, e.g. [2, 2, 2, 2].", nameof(layers));
        if (expansion < 1) throw new ArgumentOutOfRangeException(nameof(expansion), expansion, "Expansion must be at least 1.");

        long[] sizes = { 64, 64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion };
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("0", new ConvLayer(3, 32, stride: 2)),
            ("1", new ConvLayer(32, 32)),
            ("2", new ConvLayer(32, 64)),
            ("3", nn.MaxPool2d(3, stride: 2, padding: 1)),
        };
        for (int stage = 0; stage < 4; stage++)
        {
            var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int i = 0; i < layers[stage]; i++)
            {
                long ni = i == 0 ? sizes[stage] : sizes[stage + 1];
                long stride = i == 0 && stage > 0 ? 2 : 1;
                blocks.Add((i.ToString(), expansion == 1
                    ? new ResBlock(ni, sizes[stage + 1], stride)
                    : new Bottleneck(ni, sizes[stage + 1], stride)));
            }
            modules.Add(((modules.Count).ToString(), nn.Sequential(blocks)));
        }
        return Head(modules, sizes[^1], numClasses);
    }

    private static Sequential Stages(int numClasses, Func<long, long, nn.Module<Tensor, Tensor>> block)
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i + 1 < PlainWidths.Length; i++)
            modules.Add((i.ToString(), block(PlainWidths[i], PlainWidths[i + 1])));
        return Head(modules, PlainWidths[^1], numClasses);
    }

    private static Sequential Head(List<(string, nn.Module<Tensor, Tensor>)> modules, long features, int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "A classifier needs at least one class.");
        modules.Add((modules.Count.ToString(), nn.AdaptiveAvgPool2d(1)));
        modules.Add((modules.Count.ToString(), nn.Flatten()));
        modules.Add((modules.Count.ToString(), nn.Linear(features, numClasses)));
        return nn.Sequential(modules);
    }
}
