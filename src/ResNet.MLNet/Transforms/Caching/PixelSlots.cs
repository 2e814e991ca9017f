namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// Fixed-size slots of decoded pixels, addressed by number: an image store's storage. Slots are written before any
/// reader exists (distinct slots may be written from several threads) and read from any thread afterwards.
/// </summary>
internal abstract class PixelSlots : IDisposable
{
    private protected PixelSlots(int slotBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotBytes);
        SlotBytes = slotBytes;
    }

    /// <summary>Bytes per slot (one image).</summary>
    public int SlotBytes { get; }

    /// <summary>Slots that can be addressed.</summary>
    public abstract long Capacity { get; }

    /// <summary>Grows to at least <paramref name="slots"/> slots, keeping what the existing ones hold.</summary>
    public abstract void EnsureCapacity(long slots);

    /// <summary>The bytes of slot <paramref name="slot"/>.</summary>
    public abstract Span<byte> this[long slot] { get; }

    /// <summary>Makes what was written durable (a no-op in memory).</summary>
    public virtual void Flush() { }

    /// <inheritdoc />
    public virtual void Dispose() { }

    private protected void CheckSlot(long slot)
    {
        if ((ulong)slot >= (ulong)Capacity)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"The image store holds {Capacity} slots.");
    }
}
