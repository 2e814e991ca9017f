using System.Diagnostics;
using System.Text.Json;
using ResNet.MLNet.Benchmarks.Harness;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// PyTorch's images/s for the same models, batch, image size, optimiser and threads, measured by
/// <c>pytorch_reference.py</c> with Debian's python3-torch when it is installed (a reference, not a dependency), in
/// PyTorch's default (NCHW) memory format and in channels-last (its recommended CPU setting), each beside TorchSharp.
/// </summary>
public static class PyTorchReference
{
    public const string Section = "1 pytorch-step";
    private const string Python = "/usr/bin/python3";

    /// <summary>Runs every case (name, image size, steps per run as TorchSharp ran them) in both memory formats.</summary>
    public static void Run(ResultTable table, IReadOnlyList<(string Name, int Size, int Steps)> cases, int batch, int threads, int runs)
    {
        foreach (bool channelsLast in new[] { false, true })
            Run(table, cases, batch, threads, runs, channelsLast);
    }

    private static void Run(ResultTable table, IReadOnlyList<(string Name, int Size, int Steps)> cases, int batch, int threads, int runs, bool channelsLast)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "pytorch_reference.py");
        if (!File.Exists(Python) || !File.Exists(script))
        {
            Console.WriteLine("  PyTorch reference skipped: /usr/bin/python3 or the script is missing.");
            return;
        }
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        // The same glibc allocator tuning as this process (NativeMemoryTuning), so neither side pays page faults the other does not.
        if (Training.NativeMemoryTuning.IsApplied)
            start.Environment["GLIBC_TUNABLES"] = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184:glibc.malloc.arena_max=1";
        foreach (string arg in new[] { script, "--threads", threads.ToString(), "--batch", batch.ToString(), "--runs", runs.ToString() })
            start.ArgumentList.Add(arg);
        if (channelsLast) start.ArgumentList.Add("--channels-last");
        string format = channelsLast ? "channels-last" : "default format";
        foreach (var (name, size, steps) in cases)
        {
            start.ArgumentList.Add("--case");
            start.ArgumentList.Add($"{name}:{size}:{steps}");
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            string name = $"{root.GetProperty("case").GetString()} bs{batch} {root.GetProperty("size").GetInt32()}px";
            double imagesPerSecond = root.GetProperty("images_per_second").GetDouble();
            table.Add(new Result(Section, name, $"images/s, {format}", imagesPerSecond, "img/s",
                $"PyTorch {root.GetProperty("torch").GetString()}, AdamW, ±{root.GetProperty("spread_percent").GetDouble():F1}%" +
                (start.Environment.ContainsKey("GLIBC_TUNABLES") ? ", allocator tuned" : "")));
            if (table.Find(RawTrainingStep.Section, name, "images/s") is double ours)
                table.Add(new Result("ratio", name, $"TorchSharp / PyTorch {format}", ours / imagesPerSecond, "×", "target ≥ 1.0"));
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            Console.WriteLine($"  PyTorch reference failed (is python3-torch installed? apt-get install python3-torch): {stderr.Result.Trim()}");
    }
}
