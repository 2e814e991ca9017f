using System.Text.Json;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Cli;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (6) The CLI's own <c>train</c> job end to end on a generated folder shaped like Imagenette (10 classes, 947 training and
/// 392 validation JPEGs per class at 160–224 px; <c>--real-size-scale</c> shrinks the counts), beside the same recipe in
/// plain PyTorch (<c>pytorch_reference.py e2e</c>: decode once into a uint8 cache, per-batch augmentation, the same model,
/// one-cycle AdamW, validation every epoch), in fp32 and/or bf16 (<c>--real-size-precision fp32|bf16|both</c>): ours with
/// <c>--fp16</c> (on a CPU with native bf16 its step trial may pick bf16), PyTorch under CPU autocast bf16 — each side at
/// its best setting. Each round runs, per precision, ours, then the raw step (the ceiling of the training pass), then
/// PyTorch, so each ratio pairs runs made in the same machine state.
/// </summary>
public static class RealSizeEndToEnd
{
    public const string Section = "6 real-size";
    private const int Batch = 128;
    private const int Size = 128;
    private const int Presize = 160;
    private const string MaxLearningRate = "3e-3";
    private const int Seed = 42;
    private const string Fp32 = "fp32";
    private const string Bf16 = "bf16";

    /// <summary>The precisions of <c>--real-size-precision</c>: <c>fp32</c> (default), <c>bf16</c> or <c>both</c>.</summary>
    public static IReadOnlyList<string> Precisions(string? option) => option switch
    {
        null or Fp32 => [Fp32],
        Bf16 => [Bf16],
        "both" => [Fp32, Bf16],
        _ => throw new ArgumentException($"--real-size-precision must be fp32, bf16 or both, not '{option}'."),
    };

    /// <summary>The Imagenette-shaped folder, generated once per scale.</summary>
    public static string Dataset(string output, double scale)
    {
        int train = Math.Max(2, (int)Math.Round(947 * scale)), valid = Math.Max(1, (int)Math.Round(392 * scale));
        return SyntheticImages.GetOrCreate(new SyntheticImagesOptions
        {
            ClassCount = 10, TrainImagesPerClass = train, ValidImagesPerClass = valid, MinSize = 160, MaxSize = 224, Seed = 13,
        }, Path.Combine(output, "real-size-data"));
    }

    public static void Run(ResultTable table, Architecture architecture, string folder, int epochs, int rounds, string output,
        PyTorchReference? reference, IReadOnlyList<string> precisions)
    {
        string Name(string precision) => $"{architecture.Name} bs{Batch} {Presize}→{Size}px {precision}";
        if (precisions.Contains(Bf16) && !CpuFeatures.HasBf16)
            table.Add(new Result(Section, Name(Bf16), "not measurable here", 0, "",
                $"{CpuInfo.Describe()} has no native bf16 (avx512_bf16/amx_bf16): --fp16 trains in fp32 here and PyTorch's autocast bf16 would be emulated"));
        var measured = precisions.Where(p => p == Fp32 || CpuFeatures.HasBf16).ToArray();
        var ours = measured.ToDictionary(p => p, _ => new List<EndToEndJob>());
        var theirs = measured.ToDictionary(p => p, _ => new List<EndToEndJob>());
        var raw = measured.ToDictionary(p => p, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
            foreach (string precision in measured)
            {
                var job = RunCli(architecture, folder, epochs, precision == Bf16, Path.Combine(output, $"real-size-{architecture.Name}-{precision}-{round}"));
                ours[precision].Add(job);
                // The raw step in the precision the CLI's step trial chose (with --fp16 it may keep fp32).
                ScalarType? half = job.Format.EndsWith(Bf16, StringComparison.Ordinal) ? ScalarType.BFloat16 : null;
                using (var runner = new RawStepRunner(architecture, Batch, Size, halfPrecision: half))
                    raw[precision].Add(new Sample(Enumerable.Range(0, 3).Select(_ => runner.Run().WallSeconds).ToArray()).Median / (runner.Steps * Batch));
                if (reference is not null)
                    theirs[precision].Add(reference.RunEndToEnd(folder, architecture.Name, Presize, Size, Batch, epochs, MaxLearningRate, "auto", Seed, precision));
            }

        foreach (string precision in measured)
            Compare(table, Name(precision), precision, architecture, epochs, rounds, ours[precision], raw[precision], theirs[precision], reference);
        if (measured.Length == 2)
        {
            BestAgainstBest(table, architecture, epochs, ours, theirs);
            foreach (var (side, jobs) in new (string Side, Dictionary<string, List<EndToEndJob>> Jobs)[] { ("ours", ours), ($"PyTorch {reference?.Version}", theirs) })
            {
                if (jobs[Bf16].Count == 0) continue;
                var speedUp = new Sample(jobs[Fp32].Zip(jobs[Bf16], (a, b) => a.SteadyEpochSeconds / b.SteadyEpochSeconds).ToArray());
                table.Add(new Result("ratio", $"{architecture.Name} bs{Batch} {Presize}→{Size}px", $"{side}: bf16 / fp32 steady epoch (speed)", speedUp.Median, "×",
                    $"fp32 epoch / bf16 epoch within each round, validation included; range {speedUp.Min:F2}–{speedUp.Max:F2}"));
            }
        }
    }

    /// <summary>Each side at its faster precision in each round (PyTorch's autocast can be slower than its fp32), ours / PyTorch speed.</summary>
    private static void BestAgainstBest(ResultTable table, Architecture architecture, int epochs,
        Dictionary<string, List<EndToEndJob>> ours, Dictionary<string, List<EndToEndJob>> theirs)
    {
        if (theirs[Fp32].Count == 0) return;
        string name = $"{architecture.Name} bs{Batch} {Presize}→{Size}px best";
        double Best(Dictionary<string, List<EndToEndJob>> jobs, int round, Func<EndToEndJob, double> seconds) =>
            Math.Min(seconds(jobs[Fp32][round]), seconds(jobs[Bf16][round]));
        var rounds = Enumerable.Range(0, ours[Fp32].Count).ToArray();
        var endToEnd = new Sample(rounds.Select(r => Best(theirs, r, j => j.TotalSeconds) / Best(ours, r, j => j.TotalSeconds)).ToArray());
        table.Add(new Result("ratio", name, "ours / PyTorch end to end, each at its faster precision (speed)", endToEnd.Median, "×",
            $"target ≥ 1.0; per round the faster of fp32 and bf16 on each side (decode, trial, {epochs} epochs with validation); range {endToEnd.Min:F2}–{endToEnd.Max:F2}"));
        var steady = new Sample(rounds.Select(r => Best(theirs, r, j => j.SteadyEpochSeconds) / Best(ours, r, j => j.SteadyEpochSeconds)).ToArray());
        table.Add(new Result("ratio", name, "ours / PyTorch steady epoch, each at its faster precision (speed)", steady.Median, "×",
            $"validation included; range {steady.Min:F2}–{steady.Max:F2}"));
    }

    private static void Compare(ResultTable table, string name, string precision, Architecture architecture, int epochs, int rounds,
        List<EndToEndJob> ours, List<double> raw, List<EndToEndJob> theirs, PyTorchReference? reference)
    {
        Report(table, name, "ours", ours, $"resnet-mlnet train --arch {architecture.Name} --epochs {epochs} --lr {MaxLearningRate} --bs {Batch} --seed {Seed} " +
            (precision == Bf16 ? "--fp16 " : "") +
            "--image-cache memory (decoded once per run, as the reference does; section 8 has the store reused across runs); " +
            $"steps ran {string.Join("/", ours.Select(j => j.Format).Distinct())} (the step trial's choice)");
        var evaluation = new Sample(ours.Select(j => j.EvaluationSeconds / j.SteadyValidSeconds).ToArray());
        table.Add(new Result(Section, name, "ours: evaluation after Fit", Median(ours, j => j.EvaluationSeconds), "s",
            $"ML.NET's Evaluate(model.Transform(valid)) in the train command, against the epoch's validation pass {Median(ours, j => j.SteadyValidSeconds):F1} s"));
        table.Add(new Result("ratio", name, "evaluation after Fit / epoch's validation pass", evaluation.Median, "×",
            $"target ≤ 1.2; same validation rows; range {evaluation.Min:F2}–{evaluation.Max:F2}"));
        var perImageRaw = new Sample(raw);
        table.Add(new Result(Section, name, "raw step", 1 / perImageRaw.Median, "img/s",
            $"the trainer's step ({string.Join("/", ours.Select(j => j.Format).Distinct())}, as the CLI's run) on one pre-made batch after each CLI run; range {1 / perImageRaw.Max:F1}–{1 / perImageRaw.Min:F1}"));
        var ceiling = new Sample(ours.Zip(raw, (job, secondsPerImage) => job.SteadyTrainingImagesPerSecond * secondsPerImage).ToArray());
        table.Add(new Result("ratio", name, "training pass / raw step", ceiling.Median, "×",
            $"target ≥ {(architecture == Architectures.SimpleCnn ? "0.75" : "0.90")}; steady epochs' training pass (data + steps) vs the raw step run after it; range {ceiling.Min:F2}–{ceiling.Max:F2}"));
        if (theirs.Count == 0) return;

        Report(table, name, $"PyTorch {reference!.Version}", theirs, $"pytorch_reference.py e2e{(precision == Bf16 ? " under torch.autocast(\"cpu\", bfloat16) (forward and loss; weights and AdamW fp32)" : "")}, " +
            $"layout {string.Join("/", theirs.Select(t => t.Format).Distinct())} (timed choice)");
        var endToEnd = new Sample(ours.Zip(theirs, (o, t) => t.TotalSeconds / o.TotalSeconds).ToArray());
        table.Add(new Result("ratio", name, "ours / PyTorch end to end (speed)", endToEnd.Median, "×",
            $"target ≥ 1.0; PyTorch's total time (decode + layout trial + {epochs} epochs with validation) / ours (the train command's fit: " +
            $"loading, decode, step trial, {epochs} epochs with validation), median of {rounds} alternating rounds (range {endToEnd.Min:F2}–{endToEnd.Max:F2})"));
        var command = new Sample(ours.Zip(theirs, (o, t) => t.TotalSeconds / o.CommandSeconds).ToArray());
        table.Add(new Result("ratio", name, "PyTorch total / our whole train command", command.Median, "×",
            $"ours also evaluating and saving model.zip after the fit ({Median(ours, j => j.AfterFitSeconds):F1} s); range {command.Min:F2}–{command.Max:F2}"));
        var steady = new Sample(ours.Zip(theirs, (o, t) => t.SteadyEpochSeconds / o.SteadyEpochSeconds).ToArray());
        table.Add(new Result("ratio", name, "ours / PyTorch steady epoch (speed)", steady.Median, "×",
            $"epochs after the first, validation included; range {steady.Min:F2}–{steady.Max:F2}"));
        var validation = new Sample(ours.Zip(theirs, (o, t) => t.SteadyValidSeconds / o.SteadyValidSeconds).ToArray());
        table.Add(new Result("ratio", name, "ours / PyTorch validation pass (speed)", validation.Median, "×",
            $"range {validation.Min:F2}–{validation.Max:F2}"));
    }

    private static void Report(ResultTable table, string name, string side, IReadOnlyList<EndToEndJob> jobs, string notes)
    {
        var total = new Sample(jobs.Select(j => j.TotalSeconds).ToArray());
        var last = jobs[^1];
        table.Add(new Result(Section, name, $"{side}: total", total.Median, "s",
            $"{notes}; {last.TrainImages} train / {last.ValidImages} valid images; range {total.Min:F1}–{total.Max:F1} over {jobs.Count} runs; first epoch {Median(jobs, j => j.FirstEpochSeconds):F1} s (decode + cache fill + tuning)"));
        table.Add(new Result(Section, name, $"{side}: steady epoch", Median(jobs, j => j.SteadyEpochSeconds), "s",
            $"data wait {Median(jobs, j => j.SteadyDataSeconds):F1} s + steps {Median(jobs, j => j.SteadyStepSeconds):F1} s + validation {Median(jobs, j => j.SteadyValidSeconds):F1} s"));
        table.Add(new Result(Section, name, $"{side}: steady training images/s", Median(jobs, j => j.SteadyTrainingImagesPerSecond), "img/s",
            "training rows / (data wait + steps) of the epochs after the first"));
        table.Add(new Result(Section, name, $"{side}: validation images/s", Median(jobs, j => j.ValidImages / j.SteadyValidSeconds), "img/s",
            "the whole validation pass of an epoch after the first"));
        table.Add(new Result(Section, name, $"{side}: final accuracy", Median(jobs, j => j.Accuracy), "",
            $"valid loss {Median(jobs, j => j.ValidLoss):F3}"));
    }

    private static double Median(IReadOnlyList<EndToEndJob> jobs, Func<EndToEndJob, double> value) => new Sample(jobs.Select(value).ToArray()).Median;

    /// <summary>Runs <c>resnet-mlnet train</c> in this process and reads its <c>history.json</c>.</summary>
    private static EndToEndJob RunCli(Architecture architecture, string folder, int epochs, bool mixedPrecision, string output)
    {
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        var log = new StringWriter();
        string[] args = ["train", "--data", folder, "--arch", architecture.Name, "--epochs", epochs.ToString(), "--lr", MaxLearningRate,
            "--bs", Batch.ToString(), "--seed", Seed.ToString(), "--image-cache", "memory", "--out", output, .. mixedPrecision ? ["--fp16"] : Array.Empty<string>()];
        // Each run pays its step trial as a first run on the machine would (a fresh records file). The total is the
        // command's own "fit" time — data loading, decoding, the step trial and the epochs with validation, what the
        // PyTorch reference's total covers; the evaluation and saving after it are reported apart.
        Environment.SetEnvironmentVariable(StepTrialRecords.EnvironmentVariable, Path.Combine(output, "step-trials.json"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int exit = CliApp.RunAsync(args, log, log).GetAwaiter().GetResult();
        clock.Stop();
        if (exit != 0) throw new InvalidOperationException($"resnet-mlnet {string.Join(' ', args)} failed ({exit}):\n{log}");
        using var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json")));
        var epochsRead = history.RootElement.EnumerateArray().Select(e => new EndToEndJob.Epoch(
            e.GetProperty("seconds").GetDouble(), e.GetProperty("dataSeconds").GetDouble(), e.GetProperty("stepSeconds").GetDouble(),
            e.GetProperty("validSeconds").GetDouble(), e.GetProperty("validLoss").GetDouble(), e.GetProperty("accuracy").GetDouble())).ToArray();
        int train = Directory.GetFiles(Path.Combine(folder, "train"), "*", SearchOption.AllDirectories).Length;
        int valid = Directory.GetFiles(Path.Combine(folder, "val"), "*", SearchOption.AllDirectories).Length;
        var times = System.Text.RegularExpressions.Regex.Match(log.ToString(), @"time: fit ([0-9.]+) s .*evaluation ([0-9.]+) s, saving ([0-9.]+) s");
        if (!times.Success) throw new InvalidOperationException($"resnet-mlnet train printed no 'time:' line:\n{log}");
        double Seconds(int group) => double.Parse(times.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture);
        var steps = System.Text.RegularExpressions.Regex.Match(log.ToString(), @"training steps run (\S+ (?:fp32|bf16|fp16))");
        return new EndToEndJob(Seconds(1), epochsRead, train / Batch * Batch, valid, steps.Success ? steps.Groups[1].Value : "tuned")
        {
            AfterFitSeconds = Seconds(2) + Seconds(3), EvaluationSeconds = Seconds(2), CommandSeconds = clock.Elapsed.TotalSeconds,
        };
    }
}
