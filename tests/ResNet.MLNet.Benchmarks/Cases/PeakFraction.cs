using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (9) How close the trainer comes to the machine's multiply-add peak. The peak is what a large square GEMM
/// (<c>torch.mm</c>) achieves at the trainer's thread count, in fp32 and bf16. Each model's work is counted from its
/// layers (<see cref="ForwardMacs"/>, 2 FLOPs per multiply-add); a training step costs ≈ 3 forward passes (forward,
/// then the gradients of the inputs and of the weights), a scoring batch one forward pass. Achieved GFLOP/s of the
/// trainer's raw step (<see cref="RawStepRunner"/>, fp32, and bf16 on a CPU with native bf16) and of an eval-mode
/// forward of a batch without gradients (the trainer's fp32 network, or its bf16 working copy) against the GEMM peak
/// of the same precision.
/// </summary>
public static class PeakFraction
{
    public const string Section = "9 peak";
    public const string GemmCase = "GEMM";
    private const int Size = 128;
    private const int ScoringBatch = 128;

    public static readonly Architecture[] Models =
        [Architectures.SimpleCnn, Architectures.ResNet18Chapter, Architectures.ResNet50Chapter, Architectures.ImageNetResNet18];

    /// <summary>The precisions measured here: fp32, and bf16 where the CPU computes it natively.</summary>
    private static ScalarType[] Precisions => CpuFeatures.HasBf16 ? [ScalarType.Float32, ScalarType.BFloat16] : [ScalarType.Float32];

    private static string Label(ScalarType precision) => precision == ScalarType.BFloat16 ? "bf16" : "fp32";

    /// <summary>
    /// Checks the multiply-add count on torchvision's ResNet-18 at 224 px (≈ 1.82 GMAC, the figure torchvision and the
    /// papers quote), then measures the GEMM peak of each precision: the fastest of <paramref name="runs"/> runs of
    /// <c>n×n · n×n</c> products, GFLOP/s.
    /// </summary>
    public static IReadOnlyDictionary<ScalarType, double> MeasurePeak(ResultTable table, int n, int runs)
    {
        using (var torchVision = new TorchVisionResNet(18, 1000, fastaiHead: false))
            table.Add(new Result(Section, "torchvision ResNet-18 224px", "forward multiply-adds per image", ForwardMacs.Count(torchVision, 224) / 1e9, "GMAC",
                "check of the count: torchvision's ResNet-18 (1000 classes) is ≈ 1.82 GMAC"));
        var peak = new Dictionary<ScalarType, double>();
        foreach (var precision in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var scope = NewDisposeScope();
            var a = randn(n, n).to(precision);
            var b = randn(n, n).to(precision);
            var product = Timed(() => a.mm(b).Dispose(), runs);
            double flops = 2.0 * n * n * n;
            peak[precision] = flops / product.Min / 1e9;
            table.Add(new Result(Section, $"{GemmCase} {n}×{n}", $"{Label(precision)} peak", peak[precision], "GFLOP/s",
                $"torch.mm at {get_num_threads()} threads, fastest of {runs} runs (median {flops / product.Median / 1e9:F0} GFLOP/s)" +
                (precision == ScalarType.BFloat16 && !CpuFeatures.HasBf16 ? "; this CPU has no native bf16 (emulated)" : "")));
        }
        return peak;
    }

    /// <summary>Forward multiply-adds, then the achieved GFLOP/s and % of peak of the training step and of a scoring batch, per precision.</summary>
    public static void Run(ResultTable table, Architecture architecture, IReadOnlyDictionary<ScalarType, double> peak, int runs)
    {
        // ResNet50Chapter's activations at batch 128 need several GB; 64 keeps it within a shared machine's memory.
        int batch = architecture == Architectures.ResNet50Chapter ? 64 : 128;
        string name = $"{architecture.Name} {Size}px";
        long macs;
        using (var network = architecture.Create(10))
            macs = ForwardMacs.Count(network, Size);
        table.Add(new Result(Section, name, "forward multiply-adds per image", macs / 1e9, "GMAC",
            "every Conv2d and Linear: weights × output positions, from the network's ONNX form"));

        foreach (var precision in Precisions)
        {
            string label = Label(precision);
            bool channelsLast;
            using (var runner = new RawStepRunner(architecture, batch, Size, halfPrecision: precision == ScalarType.BFloat16 ? precision : null))
            {
                channelsLast = runner.ChannelsLast;
                var step = new Sample(Enumerable.Range(0, runs).Select(_ => runner.Run().WallSeconds / runner.Steps).ToArray());
                Add(table, name, $"{label} training step", 3 * 2.0 * macs * batch / step.Median, peak[precision],
                    $"3 × forward FLOPs × {batch} images / {step.Median * 1000:F0} ms per step (the trainer's raw step, {Layout(channelsLast)}), median of {runs} runs of {runner.Steps}");
            }
            var scoring = Scoring(architecture, precision, channelsLast, runs);
            Add(table, name, $"{label} scoring batch", 2.0 * macs * ScoringBatch / scoring.Median, peak[precision],
                $"forward FLOPs × {ScoringBatch} images / {scoring.Median * 1000:F0} ms per batch (eval mode, no gradients, {Layout(channelsLast)}" +
                $"{(precision == ScalarType.BFloat16 ? ", the trainer's bf16 working copy" : "")}), median of {runs} runs");
        }
    }

    private static void Add(ResultTable table, string name, string metric, double flopsPerSecond, double peak, string notes)
    {
        double gflops = flopsPerSecond / 1e9;
        table.Add(new Result(Section, name, metric, gflops, "GFLOP/s", notes));
        table.Add(new Result(Section, name, $"{metric}, % of peak", gflops / peak * 100, "%", $"against the GEMM peak of the same precision, {peak:F0} GFLOP/s"));
    }

    /// <summary>Seconds per eval-mode forward of a batch without gradients, as the trainer's validation runs it.</summary>
    private static Sample Scoring(Architecture architecture, ScalarType precision, bool channelsLast, int runs)
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var network = architecture.Create(10);
        HalfPrecisionCopy? half = precision == ScalarType.BFloat16
            ? new HalfPrecisionCopy(network, architecture.Create(10), precision, new LossScaler())
            : null;
        (half?.Working ?? network).eval();
        var x = randn(ScoringBatch, 3, Size, Size);
        if (channelsLast) x = MemoryFormat.ToChannelsLast(x);
        using var noGrad = no_grad();
        return Timed(() => (half is null ? network.forward(x) : half.Forward(x)).Dispose(), runs);
    }

    /// <summary>Seconds per call of <paramref name="call"/>: two warm-up calls, then runs of as many calls as take ≥ <see cref="RawStepRunner.RunSeconds"/>.</summary>
    private static Sample Timed(Action call, int runs)
    {
        call();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        call();
        int calls = Math.Clamp((int)Math.Ceiling(RawStepRunner.RunSeconds / clock.Elapsed.TotalSeconds), 1, 64);
        return new Sample(Sample.Measure(() => { for (int i = 0; i < calls; i++) call(); }, warmup: 0, runs).Seconds.Select(s => s / calls).ToArray());
    }

    private static string Layout(bool channelsLast) => channelsLast ? "channels-last" : "NCHW";
}
