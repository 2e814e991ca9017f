using ResNet.MLNet.Benchmarks.Cases;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using TorchSharp;

namespace ResNet.MLNet.Benchmarks;

/// <summary>
/// Runs the benchmark sections in one process and writes <c>results.md</c> and <c>results.json</c>.
/// Usage: <c>dotnet run -c Release -- [--filter text] [--quick] [--no-pytorch] [--out dir]</c>.
/// </summary>
public static class BenchmarkRunner
{
    public static int Run(string[] args)
    {
        string filter = Value(args, "--filter") ?? "";
        bool quick = args.Contains("--quick");
        string output = Value(args, "--out") ?? Path.Combine("artifacts", "bench");

        bool tuned = NativeMemoryTuning.Apply();
        int threads = Math.Max(1, Environment.ProcessorCount);
        torch.set_num_threads(threads);
        var environment = new Dictionary<string, string>
        {
            ["date"] = DateTime.UtcNow.ToString("u"),
            ["machine"] = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}",
            ["torch threads"] = torch.get_num_threads().ToString(),
            ["glibc allocator tuning"] = tuned.ToString(),
            ["mode"] = quick ? "quick" : "full",
        };
        Console.WriteLine($"ResNet.MLNet benchmarks ({(quick ? "quick" : "full")}); torch threads {torch.get_num_threads()}; allocator tuning {tuned}");

        var table = new ResultTable();
        bool Selected(string name) => filter.Length == 0 || name.Contains(filter, StringComparison.OrdinalIgnoreCase);

        int runs = quick ? 2 : 5;
        int steps = quick ? 2 : 5;
        var rawCases = new List<(string, int)>();
        foreach (var architecture in Architectures.All)
        {
            int size = architecture.DefaultImageSize;
            if (!Selected($"{RawTrainingStep.Section} {architecture.Name}")) continue;
            RawTrainingStep.Run(table, architecture, batch: 64, size, steps, runs);
            rawCases.Add((architecture.Name, size));
        }
        if (rawCases.Count > 0 && !args.Contains("--no-pytorch"))
            PyTorchReference.Run(table, rawCases, batch: 64, torch.get_num_threads(), steps, runs);

        table.Write(output, environment);
        Console.WriteLine();
        Console.WriteLine(table.ToMarkdown());
        Console.WriteLine($"Written: {Path.Combine(output, "results.md")} and results.json");
        return 0;
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
