using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (7) The trainer's mixed-precision step on the CPU (bf16 working copy with fp32 BatchNorm, loss and master weights,
/// <see cref="RawStepRunner"/> with BFloat16) against its fp32 step, alternating runs, at batch 64 and 128 px (the
/// shape of PyTorch 1.13's autocast figures in docs/training.md). Each side uses the layout the trainer's step trial picks.
/// The trainer itself tries bf16 only on CPUs with native bf16; this section measures it on any CPU, so the figure also
/// shows what emulated bf16 would cost.
/// </summary>
public static class MixedPrecisionStep
{
    public const string Section = "7 bf16-step";
    private const int Batch = 64;
    private const int Size = 128;

    public static readonly Architecture[] Models = [Architectures.SimpleCnn, Architectures.ResNet18Chapter, Architectures.ResNet50Chapter];

    public static void Run(ResultTable table, Architecture architecture, int runs)
    {
        string name = $"{architecture.Name} bs{Batch} {Size}px";
        using var fp32 = new RawStepRunner(architecture, Batch, Size);
        using var bf16 = new RawStepRunner(architecture, Batch, Size, halfPrecision: ScalarType.BFloat16);
        var ours32 = new List<double>();
        var ours16 = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            ours32.Add(fp32.Run().WallSeconds / (fp32.Steps * Batch));
            ours16.Add(bf16.Run().WallSeconds / (bf16.Steps * Batch));
        }
        table.Add(new Result(Section, name, "fp32 images/s", 1 / new Sample(ours32).Median, "img/s", $"layout {(fp32.ChannelsLast ? "channels-last" : "NCHW")}"));
        table.Add(new Result(Section, name, "bf16 images/s", 1 / new Sample(ours16).Median, "img/s", $"layout {(bf16.ChannelsLast ? "channels-last" : "NCHW")}"));
        var ratio = new Sample(ours32.Zip(ours16, (a, b) => a / b).ToArray());
        table.Add(new Result("ratio", name, "bf16 / fp32 step (speed)", ratio.Median, "×",
            $"median of {runs} alternating rounds (range {ratio.Min:F2}–{ratio.Max:F2}); " +
            (CpuFeatures.HasBf16 ? "this CPU has native bf16" : "this CPU has no native bf16 (emulated; the trainer stays fp32 here)")));
    }
}
