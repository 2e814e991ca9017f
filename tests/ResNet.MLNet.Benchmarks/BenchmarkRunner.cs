using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ResNet.MLNet.Benchmarks.Cases;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Benchmarks.Micro;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using TorchSharp;

namespace ResNet.MLNet.Benchmarks;

/// <summary>
/// Runs the benchmark sections in one process and writes <c>results.md</c> and <c>results.json</c>.
/// Usage: <c>dotnet run -c Release -- [--filter text] [--quick] [--all-models] [--no-pytorch] [--real-size-scale x] [--real-size-epochs n] [--real-size-precision fp32|bf16|both] [--real-size-rounds n] [--image-cache-images n] [--image-cache-epochs n] [--peak-gemm-size n] [--bdn] [--out dir]</c>.
/// A case runs when its "section case" name contains the filter text (e.g. <c>--filter SimpleCnn</c>, <c>--filter scoring</c>).
/// </summary>
public static class BenchmarkRunner
{
    /// <summary>Models of sections 1 and 2 by default; <c>--all-models</c> adds the others to section 1.</summary>
    private static readonly Architecture[] PipelineModels = [Architectures.SimpleCnn, Architectures.ResNet18Chapter];

    public static int Run(string[] args)
    {
        if (args.Contains("--bdn"))
        {
            TrainingDevice.InitialiseTorch();
            // In process: BenchmarkDotNet's generated child project would not get the build's libstdc++ patch for TorchSharp.
            var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
            var bdnArgs = args.Where(a => a != "--bdn").ToList();
            if (!bdnArgs.Contains("--filter")) bdnArgs.AddRange(["--filter", "*"]);   // every micro-benchmark, no interactive prompt
            BenchmarkSwitcher.FromTypes([typeof(TransformMicroBenchmarks)]).Run([.. bdnArgs], config);
            return 0;
        }

        string filter = Value(args, "--filter") ?? "";
        bool quick = args.Contains("--quick");
        string output = Value(args, "--out") ?? Path.Combine("artifacts", "bench");
        Directory.CreateDirectory(output);

        TrainingDevice.InitialiseTorch();   // the trainer's settings: allocator tuning, NNPACK off, threads = physical cores
        var environment = new Dictionary<string, string>
        {
            ["date"] = DateTime.UtcNow.ToString("u"),
            ["machine"] = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}",
            ["cpu"] = CpuInfo.Describe(),
            ["torch threads"] = torch.get_num_threads().ToString(),
            ["glibc allocator tuning"] = NativeMemoryTuning.IsApplied.ToString(),
            ["mode"] = quick ? "quick" : "full",
            ["load average at start"] = LoadAverage(),
        };
        Console.WriteLine($"ResNet.MLNet benchmarks ({environment["mode"]}) on {environment["cpu"]}; torch threads {environment["torch threads"]}; " +
            $"allocator tuning {environment["glibc allocator tuning"]}; load average {environment["load average at start"]}");

        var table = new ResultTable();
        bool Selected(string name) => filter.Length == 0 || name.Contains(filter, StringComparison.OrdinalIgnoreCase);

        int runs = quick ? 3 : 5;
        int epochs = quick ? 3 : 6;
        var models = args.Contains("--all-models") ? Architectures.All.ToArray() : PipelineModels;

        // (2) + (5) pipeline epoch and memory first (a fresh heap for the peak RSS); (4) scores the fitted pipelines.
        var pipeline = new List<string>();
        var forScoring = new List<FittedPipeline>();
        foreach (var architecture in PipelineModels)
        {
            bool scoring = Selected($"{ScoringRuns.Section} {architecture.Name}");
            if (!Selected($"{PipelineEpoch.Section} {architecture.Name}") && !Selected($"{PipelineEpoch.MemorySection} {architecture.Name}") && !scoring)
                continue;
            var fitted = PipelineEpoch.Run(table, architecture, epochs, output);
            pipeline.Add(architecture.Name);
            if (architecture == Architectures.SimpleCnn) PipelineEpoch.CacheSize(table, fitted);
            if (scoring) forScoring.Add(fitted);
            else fitted.Trainer.Dispose();
        }

        // (1) raw step, alternating with the PyTorch reference.
        var raw = new Dictionary<string, double>();
        var rawCpu = new Dictionary<string, double>();
        var rawModels = models.Where(a => Selected($"{RawTrainingStep.Section} {a.Name}")).ToArray();
        using (var reference = rawModels.Length > 0 && !args.Contains("--no-pytorch") ? PyTorchReference.TryStart(torch.get_num_threads()) : null)
            foreach (var architecture in rawModels)
            {
                int size = architecture.DefaultImageSize == 224 ? 224 : PipelineEpoch.Size;
                int batch = size == 224 ? 64 : PipelineEpoch.Batch;
                (raw[architecture.Name], rawCpu[architecture.Name]) = RawTrainingStep.Run(table, architecture, batch, size, runs, reference);
            }

        var dataWork = pipeline.Any(raw.ContainsKey) ? PipelineCeiling.MeasureDataWork(table, quick ? 5 : 9) : default;
        foreach (var name in pipeline.Where(raw.ContainsKey))
            PipelineCeiling.AddCeilings(table, $"{name} bs{PipelineEpoch.Batch} {PipelineEpoch.Size}px", rawCpu[name], dataWork);

        if (Selected($"{PipelineEpoch.Section} data only"))
            PipelineEpoch.DataOnly(table, epochs, output);

        // (3) augmentation alone.
        if (Selected($"{Augmentation.Section} bs128"))
            Augmentation.Run(table, quick);

        foreach (var fitted in forScoring)
        {
            ScoringRuns.Run(table, fitted, output, quick);
            Serving.Run(table, fitted, Path.Combine(output, $"model-{fitted.Trainer.ArchitectureName}.zip"), quick);
            fitted.Trainer.Dispose();
        }

        // (6) the CLI's train job end to end on an Imagenette-sized folder, paired with the same recipe in PyTorch.
        var realSize = PipelineModels.Where(a => Selected($"{RealSizeEndToEnd.Section} {a.Name}")).ToArray();
        if (realSize.Length > 0)
        {
            double scale = double.Parse(Value(args, "--real-size-scale") ?? (quick ? "0.25" : "1"), System.Globalization.CultureInfo.InvariantCulture);
            int realSizeEpochs = int.Parse(Value(args, "--real-size-epochs") ?? "3", System.Globalization.CultureInfo.InvariantCulture);
            var precisions = RealSizeEndToEnd.Precisions(Value(args, "--real-size-precision"));
            int rounds = int.Parse(Value(args, "--real-size-rounds") ?? (quick ? "1" : "2"), System.Globalization.CultureInfo.InvariantCulture);
            string folder = RealSizeEndToEnd.Dataset(output, scale);
            environment["real-size folder"] = $"{folder} (scale {scale})";
            using var reference = args.Contains("--no-pytorch") ? null : PyTorchReference.TryStart(torch.get_num_threads());
            foreach (var architecture in realSize)
                RealSizeEndToEnd.Run(table, architecture, folder, realSizeEpochs, rounds, output, reference, precisions);
        }

        // (8) the image cache: a store on disk built, in memory, the store reused; on the real-size folder and a larger one.
        int cacheEpochs = int.Parse(Value(args, "--image-cache-epochs") ?? "2", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var architecture in PipelineModels.Where(a => Selected($"{ImageCacheRuns.Section} {a.Name} real-size")))
        {
            double scale = double.Parse(Value(args, "--real-size-scale") ?? (quick ? "0.25" : "1"), System.Globalization.CultureInfo.InvariantCulture);
            ImageCacheRuns.Run(table, architecture.Name, "real-size", RealSizeEndToEnd.Dataset(output, scale), cacheEpochs, output);
        }
        if (Selected($"{ImageCacheRuns.Section} SimpleCnn large"))
        {
            int images = int.Parse(Value(args, "--image-cache-images") ?? (quick ? "6000" : "30000"), System.Globalization.CultureInfo.InvariantCulture);
            string large = ImageCacheRuns.LargeDataset(output, images);
            environment["image-cache folder"] = $"{large} ({images} images)";
            ImageCacheRuns.Run(table, Architectures.SimpleCnn.Name, $"large {images / 1000}k", large, cacheEpochs, output);
        }

        // (7) the mixed-precision (bf16) step against the fp32 step.
        foreach (var architecture in MixedPrecisionStep.Models.Where(a => Selected($"{MixedPrecisionStep.Section} {a.Name}")))
            MixedPrecisionStep.Run(table, architecture, runs);

        // (9) the share of the machine's multiply-add peak (a large GEMM) that the training step and a scoring batch reach.
        var peakModels = PeakFraction.Models.Where(a => Selected($"{PeakFraction.Section} {a.Name}")).ToArray();
        if (peakModels.Length > 0 || Selected($"{PeakFraction.Section} {PeakFraction.GemmCase}"))
        {
            int gemmSize = int.Parse(Value(args, "--peak-gemm-size") ?? "2048", System.Globalization.CultureInfo.InvariantCulture);
            PeakFraction.Run(table, peakModels, gemmSize, runs);
        }

        environment["load average at end"] = LoadAverage();
        table.Write(output, environment);
        Console.WriteLine();
        Console.WriteLine(table.ToMarkdown());
        Console.WriteLine($"load average: start {environment["load average at start"]}, end {environment["load average at end"]}");
        Console.WriteLine($"Written: {Path.Combine(output, "results.md")} and results.json");
        return 0;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
