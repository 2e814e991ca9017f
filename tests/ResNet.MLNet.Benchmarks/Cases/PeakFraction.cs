using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (9) How close the trainer comes to the machine's multiply-add peak. The peak is what a large square GEMM achieves
/// at the trainer's thread count, in fp32 and bf16: <c>torch.mm</c>, or the same product as a 1×1 convolution (oneDNN),
/// whichever is faster. Each model's work is counted from its
/// layers (<see cref="ForwardMacs"/>, 2 FLOPs per multiply-add); a training step costs ≈ 3 forward passes (forward,
/// then the gradients of the inputs and of the weights), a scoring batch one forward pass. Achieved GFLOP/s of the
/// trainer's raw step (<see cref="RawStepRunner"/>, fp32, and bf16 on a CPU with native bf16) and of an eval-mode
/// forward of a batch without gradients (the trainer's fp32 network, or its bf16 working copy) against the GEMM peak
/// of the same precision. The peak is re-measured after each model and its fastest run kept, so that other work slowing
/// one GEMM measurement does not lower the peak the models are compared with.
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
    /// papers quote); then, per model, the achieved GFLOP/s of the training step and of a scoring batch, with the GEMM
    /// peak (<paramref name="n"/>×<paramref name="n"/> products) measured before the first model and after each: the peak
    /// is the fastest GEMM run of all (interference from other work only lowers it), and every % is against that.
    /// </summary>
    public static void Run(ResultTable table, IReadOnlyList<Architecture> models, int n, int runs)
    {
        using (var torchVision = new TorchVisionResNet(18, 1000, fastaiHead: false))
            table.Add(new Result(Section, "torchvision ResNet-18 224px", "forward multiply-adds per image", ForwardMacs.Count(torchVision, 224) / 1e9, "GMAC",
                "check of the count: torchvision's ResNet-18 (1000 classes) is ≈ 1.82 GMAC"));
        var gemm = (from precision in new[] { ScalarType.Float32, ScalarType.BFloat16 } from kernel in GemmKernels select (precision, kernel))
            .ToDictionary(k => k, _ => new List<double>());
        void MeasureGemm()
        {
            foreach (var ((precision, kernel), seconds) in gemm) seconds.AddRange(GemmSeconds(n, precision, kernel, runs).Seconds);
        }
        MeasureGemm();
        var achieved = new List<Achieved>();
        foreach (var architecture in models)
        {
            achieved.AddRange(Measure(table, architecture, runs));
            MeasureGemm();
        }

        double flops = 2.0 * n * n * n;
        var peak = new Dictionary<ScalarType, double>();
        foreach (var ((precision, kernel), seconds) in gemm)
        {
            var sample = new Sample(seconds);
            table.Add(new Result(Section, $"{GemmCase} {n}×{n}", $"{Label(precision)} {kernel}", flops / sample.Min / 1e9, "GFLOP/s",
                $"at {get_num_threads()} threads, fastest of {seconds.Count} runs before and after the models " +
                $"(median {flops / sample.Median / 1e9:F0}, slowest {flops / sample.Max / 1e9:F0} GFLOP/s)" +
                (precision == ScalarType.BFloat16 && !CpuFeatures.HasBf16 ? "; this CPU has no native bf16 (emulated)" : "")));
            peak[precision] = Math.Max(peak.GetValueOrDefault(precision), flops / sample.Min);
        }
        foreach (var (precision, flopsPerSecond) in peak)
            table.Add(new Result(Section, $"{GemmCase} {n}×{n}", $"{Label(precision)} peak", flopsPerSecond / 1e9, "GFLOP/s",
                $"the faster of {string.Join(" and ", GemmKernels)}: the peak every % below is against"));
        foreach (var a in achieved)
        {
            table.Add(new Result(Section, a.Case, a.Metric, a.FlopsPerSecond / 1e9, "GFLOP/s", a.Notes));
            table.Add(new Result(Section, a.Case, $"{a.Metric}, % of peak", a.FlopsPerSecond / peak[a.Precision] * 100, "%",
                $"against the {Label(a.Precision)} GEMM peak, {peak[a.Precision] / 1e9:F0} GFLOP/s"));
        }
    }

    /// <summary>One measured rate of a model: the training step or a scoring batch, in one precision.</summary>
    private sealed record Achieved(string Case, string Metric, ScalarType Precision, double FlopsPerSecond, string Notes);

    /// <summary>Adds the forward multiply-adds row; returns the FLOP/s of the training step and of a scoring batch, per precision.</summary>
    private static List<Achieved> Measure(ResultTable table, Architecture architecture, int runs)
    {
        // ResNet50Chapter's activations at batch 128 need several GB; 64 keeps it within a shared machine's memory.
        int batch = architecture == Architectures.ResNet50Chapter ? 64 : 128;
        string name = $"{architecture.Name} {Size}px";
        long macs;
        using (var network = architecture.Create(10))
            macs = ForwardMacs.Count(network, Size);
        table.Add(new Result(Section, name, "forward multiply-adds per image", macs / 1e9, "GMAC",
            "every Conv2d and Linear: weights × output positions, from the network's ONNX form"));

        var achieved = new List<Achieved>();
        foreach (var precision in Precisions)
        {
            string label = Label(precision);
            try
            {
                bool channelsLast;
                using (var runner = new RawStepRunner(architecture, batch, Size, halfPrecision: precision == ScalarType.BFloat16 ? precision : null))
                {
                    channelsLast = runner.ChannelsLast;
                    var step = new Sample(Enumerable.Range(0, runs).Select(_ => runner.Run().WallSeconds / runner.Steps).ToArray());
                    achieved.Add(new(name, $"{label} training step", precision, 3 * 2.0 * macs * batch / step.Median,
                        $"3 × forward FLOPs × {batch} images / {step.Median * 1000:F0} ms per step (the trainer's raw step, {Layout(channelsLast)}), median of {runs} runs of {runner.Steps}"));
                }
                var scoring = Scoring(architecture, precision, channelsLast, runs);
                achieved.Add(new(name, $"{label} scoring batch", precision, 2.0 * macs * ScoringBatch / scoring.Median,
                    $"forward FLOPs × {ScoringBatch} images / {scoring.Median * 1000:F0} ms per batch (eval mode, no gradients, {Layout(channelsLast)}" +
                    $"{(precision == ScalarType.BFloat16 ? ", the trainer's bf16 working copy" : "")}), median of {runs} runs"));
            }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                table.Add(new Result(Section, name, $"{label} training step fails", 0, "", e.Message.Split('\n')[0]));
            }
        }
        return achieved;
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
        return Timed(() =>
        {
            using var batchScope = NewDisposeScope();   // as the validation pass: each batch's intermediates freed with it
            _ = half is null ? network.forward(x) : half.Forward(x);
        }, runs);
    }

    /// <summary>
    /// The two kernels the peak is taken from: <c>torch.mm</c> (libtorch's BLAS) and the same product as a 1×1
    /// convolution over a channels-last image of n positions (oneDNN, the library the network's convolutions run in).
    /// </summary>
    private static readonly string[] GemmKernels = ["torch.mm", "1×1 convolution"];

    /// <summary>Seconds per <c>n×n · n×n</c> product in <paramref name="precision"/> with one of <see cref="GemmKernels"/>, <paramref name="runs"/> runs.</summary>
    private static Sample GemmSeconds(int n, ScalarType precision, string kernel, int runs)
    {
        using var scope = NewDisposeScope();
        if (kernel == GemmKernels[0])
        {
            var a = randn(n, n).to(precision);
            var b = randn(n, n).to(precision);
            return Timed(() => a.mm(b).Dispose(), runs);
        }
        var image = MemoryFormat.ToChannelsLast(randn(1, n, n, 1).to(precision));   // n channels × n positions
        var weight = randn(n, n, 1, 1).to(precision);
        using var noGrad = no_grad();
        return Timed(() => nn.functional.conv2d(image, weight).Dispose(), runs);
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
