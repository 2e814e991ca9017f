using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Data;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (8) The image cache: <c>resnet-mlnet train</c> as a child process on a folder, presize 160 → 128, with the
/// decoded images (a) in a store on disk built by the run, (b) in memory, (c) in the store the first run left. For each:
/// decoding time, the time before the first epoch (loading the folder, decoding or opening the store), the steady epoch,
/// the peak anonymous RSS of the process (sampled from /proc every 50 ms: a memory-mapped store's pages are file-backed
/// and not counted, as the kernel may drop them) and how many images the run reused.
/// </summary>
public static partial class ImageCacheRuns
{
    public const string Section = "8 image cache";
    private const int Batch = 128;

    /// <summary>A synthetic folder of <paramref name="images"/> JPEGs at 160–200 px (97 % training), generated once.</summary>
    public static string LargeDataset(string output, int images)
    {
        int perClass = Math.Max(2, images / 10);
        int valid = Math.Max(1, perClass * 100 / 3000);
        return SyntheticImages.GetOrCreate(new SyntheticImagesOptions
        {
            ClassCount = 10, TrainImagesPerClass = perClass - valid, ValidImagesPerClass = valid, MinSize = 160, MaxSize = 200, Seed = 0,
        }, Path.Combine(output, "image-cache-data"));
    }

    public static void Run(ResultTable table, string architecture, string name, string folder, int epochs, string output)
    {
        string store = Path.Combine(output, $"image-cache-{name}");
        if (Directory.Exists(store)) Directory.Delete(store, recursive: true);
        string trials = Path.Combine(output, "image-cache-step-trials.json");
        var runs = new (string Side, string Cache)[] { ("store built", store), ("in memory", "memory"), ("store reused", store) };
        foreach (var (side, cache) in runs)
        {
            var run = RunCli(architecture, folder, cache, epochs, Path.Combine(output, $"image-cache-run-{name}"), trials);
            string caseName = $"{architecture} {name}";
            table.Add(new Result(Section, caseName, $"{side}: decoding", run.DecodeSeconds, "s",
                $"{run.Decoded:N0} images decoded ({(run.DecodeSeconds > 0 ? run.Decoded / run.DecodeSeconds : 0):F0}/s), {run.Reused:N0} reused"));
            table.Add(new Result(Section, caseName, $"{side}: before the first epoch", run.BeforeFirstEpochSeconds, "s",
                "the fit's time outside its epochs: folder listing, decoding or opening the store; the first run (store built) also runs the step trial, which the others reuse"));
            table.Add(new Result(Section, caseName, $"{side}: steady epoch", run.SteadyEpochSeconds, "s",
                $"epochs after the first, validation included; {run.TrainImagesPerSecond:F0} training img/s; accuracy {run.Accuracy:F3}"));
            table.Add(new Result(Section, caseName, $"{side}: peak anonymous RSS", run.PeakAnonymousBytes / (1024.0 * 1024 * 1024), "GiB",
                $"whole train command, {epochs} epochs; peak RSS with file pages {run.PeakRssBytes / (1024.0 * 1024 * 1024):F2} GiB"));
        }
    }

    private sealed record CliRun(double DecodeSeconds, int Decoded, int Reused, double BeforeFirstEpochSeconds, double SteadyEpochSeconds,
        double TrainImagesPerSecond, double Accuracy, long PeakAnonymousBytes, long PeakRssBytes);

    private static CliRun RunCli(string architecture, string folder, string cache, int epochs, string output, string trials)
    {
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "resnet-mlnet.dll"), "train", "--data", folder, "--arch", architecture,
                     "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--lr", "3e-3", "--bs", Batch.ToString(CultureInfo.InvariantCulture),
                     "--presize", "160", "--size", "128", "--seed", "42", "--image-cache", cache, "--out", output])
            start.ArgumentList.Add(arg);
        start.Environment[StepTrialRecords.EnvironmentVariable] = trials;
        using var process = new Process { StartInfo = start };
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        long peakAnonymous = 0, peakRss = 0;
        while (!process.WaitForExit(50))
        {
            var (anonymous, rss) = Memory(process.Id);
            peakAnonymous = Math.Max(peakAnonymous, anonymous);
            peakRss = Math.Max(peakRss, rss);
        }
        process.WaitForExit();
        string text;
        lock (log) text = log.ToString();
        if (process.ExitCode != 0) throw new InvalidOperationException($"resnet-mlnet train --image-cache {cache} failed ({process.ExitCode}):\n{text}");

        var decoded = DecodedLine().Match(text);
        var reused = ReusedLine().Match(text);
        double fit = double.Parse(FitLine().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
        using var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json")));
        var epochsRead = history.RootElement.EnumerateArray().Select(e => (Seconds: e.GetProperty("seconds").GetDouble(),
            Training: e.GetProperty("dataSeconds").GetDouble() + e.GetProperty("stepSeconds").GetDouble(), Accuracy: e.GetProperty("accuracy").GetDouble())).ToArray();
        var steady = epochsRead.Length > 1 ? epochsRead.Skip(1).ToArray() : epochsRead;
        int trainImages = Directory.GetFiles(Path.Combine(folder, "train"), "*", SearchOption.AllDirectories).Length / Batch * Batch;
        return new CliRun(
            decoded.Success ? double.Parse(decoded.Groups[2].Value, CultureInfo.InvariantCulture) : 0,
            decoded.Success ? int.Parse(decoded.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) : 0,
            reused.Success ? int.Parse(reused.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) : 0,
            fit - epochsRead.Sum(e => e.Seconds),
            new Sample(steady.Select(e => e.Seconds).ToArray()).Median,
            new Sample(steady.Select(e => trainImages / e.Training).ToArray()).Median,
            epochsRead[^1].Accuracy, peakAnonymous, peakRss);
    }

    /// <summary>RssAnon and VmRSS of a process, in bytes (zero once it is gone).</summary>
    private static (long Anonymous, long Rss) Memory(int pid)
    {
        long anonymous = 0, rss = 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anonymous = Kilobytes(line) * 1024;
                else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line) * 1024;
            }
        }
        catch (IOException) { }
        return (anonymous, rss);
    }

    private static long Kilobytes(string line) => long.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    [GeneratedRegex(@"image cache: ([0-9,]+) images decoded in ([0-9.]+) s")]
    private static partial Regex DecodedLine();

    [GeneratedRegex(@"image cache: ([0-9,]+) of [0-9,]+ images reused")]
    private static partial Regex ReusedLine();

    [GeneratedRegex(@"time: fit ([0-9.]+) s")]
    private static partial Regex FitLine();
}
