using System.Diagnostics;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Runtime;

/// <summary>
/// Chooses how training steps run on this machine — memory layout (NCHW or channels-last) and, with mixed precision on a
/// CPU that computes bf16 natively, fp32 or a bf16 working copy — by timing each candidate, as cuDNN's benchmark mode
/// chooses algorithms: which is faster depends on the network, the batch and the CPU. The trial runs a few steps of
/// throwaway copies of the network on a random batch of the training shape, so the training run itself never depends on
/// the timing; the decision is recorded (<see cref="StepTrialRecords"/>) and reused by later runs of the same network,
/// batch and machine, so a seed repeats a run exactly.
/// </summary>
internal static class StepTrial
{
    /// <summary>Untimed steps per candidate (allocations, oneDNN primitive creation).</summary>
    public const int WarmupSteps = 1;

    /// <summary>Timed steps per candidate, taken in alternation; the fastest step of each candidate counts.</summary>
    public const int TimedSteps = 2;

    /// <summary>
    /// The settings for training <paramref name="architecture"/> on <paramref name="device"/>: the only candidate, the
    /// recorded decision, or the fastest in a trial (written to <paramref name="log"/> and recorded).
    /// </summary>
    public static StepSettings Choose(IReadOnlyList<StepSettings> candidates, Architecture architecture, int classCount, int[] imageShape,
        int batchSize, Device device, TextWriter log, StepTrialRecords records, CancellationToken cancellation)
    {
        if (candidates.Count == 1) return candidates[0];
        string key = Key(candidates, architecture, classCount, imageShape, batchSize, device);
        if (records.Find(key) is StepSettings recorded && candidates.Contains(recorded))
        {
            log.WriteLine($"note: training steps run {recorded} (the trial recorded in {records.Path}).");
            return recorded;
        }
        var seconds = Time(candidates, architecture, classCount, imageShape, batchSize, device, cancellation);
        int best = Array.IndexOf(seconds, seconds.Min());
        bool saved = records.Save(key, candidates[best]);
        log.WriteLine($"note: training steps run {candidates[best]}, the fastest in a trial on a random {batchSize}×{string.Join('×', imageShape)} batch (" +
            string.Join(", ", candidates.Select((c, i) => $"{c} {seconds[i] * 1000:F0} ms")) + "); " +
            (saved ? $"recorded in {records.Path} for later runs." : $"{records.Path} could not be written, so later runs will time again."));
        return candidates[best];
    }

    /// <summary>The fastest step of each candidate, in seconds: warm-ups, then timed steps in alternation.</summary>
    internal static double[] Time(IReadOnlyList<StepSettings> candidates, Architecture architecture, int classCount, int[] imageShape,
        int batchSize, Device device, CancellationToken cancellation)
    {
        var learners = new List<Learner>();
        try
        {
            foreach (var settings in candidates)
                learners.Add(CreateLearner(settings, architecture, classCount, batchSize, device));
            using var features = randn([batchSize, .. imageShape.Select(d => (long)d)], device: device);
            using var labels = randint(0, classCount, [batchSize], device: device);
            var batch = new ImageBatch(features, labels);
            var fastest = Enumerable.Repeat(double.PositiveInfinity, candidates.Count).ToArray();
            for (int round = 0; round < WarmupSteps + TimedSteps; round++)
                for (int i = 0; i < learners.Count; i++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    long start = Stopwatch.GetTimestamp();
                    learners[i].TrainBatch(batch, 1e-6, 0.9);
                    if (round >= WarmupSteps) fastest[i] = Math.Min(fastest[i], Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            return fastest;
        }
        finally
        {
            foreach (var learner in learners)
            {
                learner.Dispose();
                learner.Model.Dispose();
            }
        }
    }

    private static Learner CreateLearner(StepSettings settings, Architecture architecture, int classCount, int batchSize, Device device)
    {
        var model = architecture.Create(classCount);
        model.to(device);
        model.train();
        HalfPrecisionCopy? half = null;
        if (settings.HalfPrecision is ScalarType dtype)
        {
            var working = architecture.Create(classCount);
            working.to(device);
            working.train();
            half = new HalfPrecisionCopy(model, working, dtype, new LossScaler());
        }
        return new Learner(model, device, batchSize, weightDecay: 0.01, half, TextWriter.Null, settings.ChannelsLast);
    }

    /// <summary>What the decision depends on: the network, the batch shape, the device, the threads, the CPU and the candidates.</summary>
    internal static string Key(IReadOnlyList<StepSettings> candidates, Architecture architecture, int classCount, int[] imageShape, int batchSize, Device device)
    {
        using var probe = architecture.Create(classCount);
        long parameters = probe.parameters().Sum(p => p.numel());
        return $"{architecture.Name} ({parameters} parameters) | batch {batchSize}x{string.Join('x', imageShape)} | {device.type} | " +
            $"{get_num_threads()} threads | {CpuFeatures.Model} | {string.Join(", ", candidates)}";
    }
}
