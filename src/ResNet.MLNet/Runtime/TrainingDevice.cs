using TorchSharp;

namespace ResNet.MLNet.Runtime;

/// <summary>Resolves the <c>Device</c> option ("auto", "cpu", "cuda" or "cuda:N") to a TorchSharp device.</summary>
internal static class TrainingDevice
{
    public static torch.Device Resolve(string? device)
    {
        string d = (device ?? "auto").Trim().ToLowerInvariant();
        if (d is "auto" or "") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (d == "cpu") return torch.CPU;
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException($"Options.Device is '{device}' but CUDA is not available: this build uses the CPU libtorch " +
                    "(build with -p:TorchBackend=cuda for TorchSharp-cuda-linux) or no GPU is visible. Use \"auto\" or \"cpu\".");
            return d == "cuda" ? torch.CUDA : new torch.Device(d);
        }
        throw new ArgumentException($"Options.Device must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"; it is '{device}'.");
    }

    /// <summary>Physical CPU cores (distinct core ids in /proc/cpuinfo on Linux), else the logical processor count.</summary>
    public static int PhysicalCores()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                var cores = new HashSet<string>();
                string physical = "0";
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                    if (key == "physical id") physical = value;
                    else if (key == "core id") cores.Add(physical + "/" + value);
                }
                if (cores.Count > 0) return Math.Min(cores.Count, Environment.ProcessorCount);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount;
    }

    private static int _threadsSet;

    /// <summary>
    /// Applies the allocator and OpenMP wait tuning, switches off libtorch's NNPACK path (and its hardware warnings) and sets libtorch's
    /// intra-op threads to the physical core count (once).
    /// </summary>
    public static void InitialiseTorch()
    {
        NativeMemoryTuning.Apply();
        OpenMpWaitTuning.Apply();
        NnpackSwitch.Disable();
        if (Interlocked.Exchange(ref _threadsSet, 1) == 0)
            torch.set_num_threads(PhysicalCores());
    }
}
