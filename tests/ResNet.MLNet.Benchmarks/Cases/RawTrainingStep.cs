using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (1) The raw TorchSharp training step on pre-made tensors: forward, cross-entropy, backward and an Adam step,
/// nothing else — the ceiling the full pipeline is compared with.
/// </summary>
public static class RawTrainingStep
{
    public const string Section = "raw-step";

    public static void Run(ResultTable table, Architecture architecture, int batch, int size, int steps, int runs)
    {
        torch.manual_seed(0);
        using var model = architecture.Create(10);
        model.train();
        using var x = randn(batch, 3, size, size);
        using var y = randint(0, 10, new long[] { batch });
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-5, weight_decay: 0.01);

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            optimizer.step();
        }

        PeakMemory.Reset();
        var sample = Sample.Measure(() => { for (int i = 0; i < steps; i++) Step(); }, warmup: 1, runs);
        string name = $"{architecture.Name} bs{batch} {size}px";
        table.Add(new Result(Section, name, "images/s", steps * batch / sample.Median, "img/s", $"±{sample.SpreadPercent:F1}% over {runs}×{steps} steps"));
        table.Add(new Result(Section, name, "peak RSS", PeakMemory.PeakMiB(), "MiB"));
    }
}
