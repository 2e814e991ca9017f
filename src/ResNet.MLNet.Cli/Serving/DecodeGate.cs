namespace ResNet.MLNet.Cli.Serving;

/// <summary>
/// Bounds the memory of decoding: at most <c>concurrent</c> images are decoded and scored at once (a decoded image
/// takes 4 bytes a pixel, up to gigabytes near the pixel limit), at most <c>queued</c> more wait for a turn, and a
/// request beyond both is turned away at once.
/// </summary>
internal sealed class DecodeGate(int concurrent, int queued) : IDisposable
{
    private readonly SemaphoreSlim _turns = new(concurrent, concurrent);
    private int _admitted;

    /// <summary>Requests decoding or waiting to.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>A turn to decode (dispose it when done), or null when every turn and queue place is taken.</summary>
    public async Task<IDisposable?> EnterAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _admitted) > concurrent + queued)
        {
            Interlocked.Decrement(ref _admitted);
            return null;
        }
        try
        {
            await _turns.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _admitted);
            throw;
        }
        return new Turn(this);
    }

    public void Dispose() => _turns.Dispose();

    private sealed class Turn(DecodeGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            gate._turns.Release();
            Interlocked.Decrement(ref gate._admitted);
        }
    }
}
