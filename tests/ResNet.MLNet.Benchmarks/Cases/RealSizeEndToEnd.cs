using System.Text.Json;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Cli;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (6) The CLI's own <c>train</c> job end to end on a generated folder shaped like Imagenette (10 classes, 947 training and
/// 392 validation JPEGs per class at 160–224 px; <c>--real-size-scale</c> shrinks the counts), beside the same recipe in
/// plain PyTorch (<c>pytorch_reference.py e2e</c>: decode once into a uint8 cache, per-batch augmentation, the same model,
/// one-cycle AdamW, validation every epoch). Each round runs ours, then the raw step (the ceiling of the training pass),
/// then PyTorch, so each ratio pairs runs made in the same machine state.
/// </summary>
public static class RealSizeEndToEnd
{
    public const string Section = "6 real-size";
    private const int Batch = 128;
    private const int Size = 128;
    private const int Presize = 160;
    private const string MaxLearningRate = "3e-3";
    private const int Seed = 42;

    /// <summary>The Imagenette-shaped folder, generated once per scale.</summary>
    public static string Dataset(string output, double scale)
    {
        int train = Math.Max(2, (int)Math.Round(947 * scale)), valid = Math.Max(1, (int)Math.Round(392 * scale));
        return SyntheticImages.GetOrCreate(new SyntheticImagesOptions
        {
            ClassCount = 10, TrainImagesPerClass = train, ValidImagesPerClass = valid, MinSize = 160, MaxSize = 224, Seed = 13,
        }, Path.Combine(output, "real-size-data"));
    }

    public static void Run(ResultTable table, Architecture architecture, string folder, int epochs, int rounds, string output, PyTorchReference? reference)
    {
        string name = $"{architecture.Name} bs{Batch} {Presize}→{Size}px";
        var ours = new List<EndToEndJob>();
        var theirs = new List<EndToEndJob>();
        var raw = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            ours.Add(RunCli(architecture, folder, epochs, Path.Combine(output, $"real-size-{architecture.Name}-{round}")));
            using (var runner = new RawStepRunner(architecture, Batch, Size))
                raw.Add(new Sample(Enumerable.Range(0, 3).Select(_ => runner.Run().WallSeconds).ToArray()).Median / (runner.Steps * Batch));
            if (reference is not null)
                theirs.Add(reference.RunEndToEnd(folder, architecture.Name, Presize, Size, Batch, epochs, MaxLearningRate, "auto", Seed));
        }

        Report(table, name, "ours", ours, $"resnet-mlnet train --arch {architecture.Name} --epochs {epochs} --lr {MaxLearningRate} --bs {Batch} --seed {Seed} " +
            "--image-cache memory (decoded once per run, as the reference does; section 8 has the store reused across runs)");
        var perImageRaw = new Sample(raw);
        table.Add(new Result(Section, name, "raw step", 1 / perImageRaw.Median, "img/s",
            $"the trainer's step on one pre-made batch after each CLI run, layout tuned; range {1 / perImageRaw.Max:F1}–{1 / perImageRaw.Min:F1}"));
        var ceiling = new Sample(ours.Zip(raw, (job, secondsPerImage) => job.SteadyTrainingImagesPerSecond * secondsPerImage).ToArray());
        table.Add(new Result("ratio", name, "training pass / raw step", ceiling.Median, "×",
            $"target ≥ {(architecture == Architectures.SimpleCnn ? "0.75" : "0.90")}; steady epochs' training pass (data + steps) vs the raw step run after it; range {ceiling.Min:F2}–{ceiling.Max:F2}"));
        if (theirs.Count == 0) return;

        Report(table, name, $"PyTorch {reference!.Version}", theirs, $"pytorch_reference.py e2e, layout {string.Join("/", theirs.Select(t => t.Format).Distinct())} (timed choice)");
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
    private static EndToEndJob RunCli(Architecture architecture, string folder, int epochs, string output)
    {
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        var log = new StringWriter();
        string[] args = ["train", "--data", folder, "--arch", architecture.Name, "--epochs", epochs.ToString(), "--lr", MaxLearningRate,
            "--bs", Batch.ToString(), "--seed", Seed.ToString(), "--image-cache", "memory", "--out", output];
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
        return new EndToEndJob(Seconds(1), epochsRead, train / Batch * Batch, valid, "tuned") { AfterFitSeconds = Seconds(2) + Seconds(3), CommandSeconds = clock.Elapsed.TotalSeconds };
    }
}
