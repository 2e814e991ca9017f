using System.Diagnostics;
using System.Text.Json;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// PyTorch's training step for the same models, batch, image size, optimiser and threads, run by
/// <c>pytorch_reference.py</c> with Debian's python3-torch (a reference, not a dependency) in one child process that
/// the raw-step section alternates with TorchSharp's runs, so both sides are timed in the same machine state.
/// </summary>
public sealed class PyTorchReference : IDisposable
{
    public const string Section = "1 pytorch-step";
    private const string Python = "/usr/bin/python3";

    /// <summary>PyTorch's default (NCHW) memory format and channels-last, its recommended CPU setting for convolutions.</summary>
    public static readonly IReadOnlyList<string> Formats = ["default", "channels-last"];

    private readonly Process _process;
    private readonly Task<string> _stderr;

    private PyTorchReference(Process process, string version)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        Version = version;
    }

    /// <summary>PyTorch's version, e.g. 1.13.0a0.</summary>
    public string Version { get; }

    /// <summary>Starts the reference, or returns null (saying why) when python3-torch or the script is missing.</summary>
    public static PyTorchReference? TryStart(int threads)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "pytorch_reference.py");
        if (!File.Exists(Python) || !File.Exists(script))
        {
            Console.WriteLine("  PyTorch reference skipped: /usr/bin/python3 or the script is missing.");
            return null;
        }
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        // The same glibc allocator tuning as this process (NativeMemoryTuning), so neither side pays page faults the other does not.
        if (Runtime.NativeMemoryTuning.IsApplied)
            start.Environment["GLIBC_TUNABLES"] = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184:glibc.malloc.arena_max=1";
        foreach (string arg in new[] { script, "--threads", threads.ToString() })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        string? hello = process.StandardOutput.ReadLine();
        if (hello is null)
        {
            Console.WriteLine($"  PyTorch reference failed (is python3-torch installed? apt-get install python3-torch): {process.StandardError.ReadToEnd().Trim()}");
            process.Dispose();
            return null;
        }
        using var json = JsonDocument.Parse(hello);
        return new PyTorchReference(process, json.RootElement.GetProperty("torch").GetString() ?? "?");
    }

    /// <summary>Seconds PyTorch takes for <paramref name="steps"/> training steps of the case (built and warmed up on first use).</summary>
    public double Run(string model, int size, int batch, string format, int steps)
    {
        _process.StandardInput.WriteLine($"{model} {size} {batch} {format} {steps}");
        _process.StandardInput.Flush();
        string? line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"The PyTorch reference stopped: {_stderr.Result.Trim()}");
        using var json = JsonDocument.Parse(line);
        return json.RootElement.GetProperty("seconds").GetDouble();
    }

    /// <summary>
    /// Runs the recipe end to end in PyTorch (<c>e2e</c> command: decode once, per-batch augmentation, one-cycle AdamW,
    /// validation every epoch) on an image folder and returns its timings and metrics. <paramref name="precision"/>
    /// <c>bf16</c> runs the forward passes and losses under CPU autocast bf16 (weights and optimiser fp32).
    /// </summary>
    public EndToEndJob RunEndToEnd(string folder, string model, int presize, int size, int batch, int epochs, string maxLearningRate, string format, int seed,
        string precision = "fp32")
    {
        _process.StandardInput.WriteLine($"e2e {folder} {model} {presize} {size} {batch} {epochs} {maxLearningRate} {format} {seed} {precision}");
        _process.StandardInput.Flush();
        var epochTimes = new List<EndToEndJob.Epoch>();
        int train = 0, valid = 0;
        string chosen = format;
        while (true)
        {
            string line = _process.StandardOutput.ReadLine()
                ?? throw new InvalidOperationException($"The PyTorch reference stopped: {_stderr.Result.Trim()}");
            using var json = JsonDocument.Parse(line);
            var e = json.RootElement;
            if (e.TryGetProperty("decode_seconds", out _))
            {
                train = e.GetProperty("train_images").GetInt32() / batch * batch;
                valid = e.GetProperty("valid_images").GetInt32();
                chosen = e.GetProperty("format").GetString() ?? format;
            }
            else if (e.TryGetProperty("epoch", out _))
                epochTimes.Add(new EndToEndJob.Epoch(e.GetProperty("seconds").GetDouble(), e.GetProperty("data_seconds").GetDouble(),
                    e.GetProperty("step_seconds").GetDouble(), e.GetProperty("valid_seconds").GetDouble(),
                    e.GetProperty("valid_loss").GetDouble(), e.GetProperty("accuracy").GetDouble()));
            else if (e.TryGetProperty("done", out _))
                return new EndToEndJob(e.GetProperty("total_seconds").GetDouble(), epochTimes, train, valid, chosen);
        }
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(10_000)) _process.Kill();
        _process.Dispose();
    }
}
