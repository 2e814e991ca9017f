using System.Diagnostics.Metrics;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// What <c>LoadImageFiles</c> decodes, as seen from outside: the <c>ResNet.MLNet</c> meter's
/// <c>resnet_mlnet.images.decoded</c> counter (readable with <c>dotnet-counters</c> or a <see cref="MeterListener"/>), and a
/// note to the trainer when a training pass reaches the decoder, which means no cache lies between the image files and
/// the trainer, so every epoch decodes every image again.
/// </summary>
internal static class DecodeMetrics
{
    /// <summary>The library's meter name.</summary>
    public const string MeterName = "ResNet.MLNet";

    /// <summary>The counter of decoded images (files or encoded bytes).</summary>
    public const string DecodedCounterName = "resnet_mlnet.images.decoded";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Decoded = Meter.CreateCounter<long>(DecodedCounterName, "{image}", "Images decoded by LoadImageFiles.");
    private static readonly AsyncLocal<Action?> TrainingPassObserver = new();

    /// <summary>Counts <paramref name="count"/> decoded images.</summary>
    public static void AddDecoded(int count) => Decoded.Add(count);

    /// <summary>Called by the decoder on a training pass; tells the observer of the current flow, if any.</summary>
    public static void DecodingOnTrainingPass() => TrainingPassObserver.Value?.Invoke();

    /// <summary>Calls <paramref name="observer"/> whenever a training pass read in this flow decodes images, until disposed.</summary>
    public static IDisposable ObserveTrainingPasses(Action observer)
    {
        var previous = TrainingPassObserver.Value;
        TrainingPassObserver.Value = observer;
        return new Restore(previous);
    }

    private sealed class Restore(Action? previous) : IDisposable
    {
        public void Dispose() => TrainingPassObserver.Value = previous;
    }
}
