using System.Diagnostics.Metrics;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Transforms;

/// <summary>Sums the library's decoded-images counter while alive.</summary>
internal sealed class DecodeCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;

    public DecodeCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DecodeMetrics.MeterName && instrument.Name == DecodeMetrics.DecodedCounterName)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
