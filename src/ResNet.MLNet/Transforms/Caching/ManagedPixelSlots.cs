namespace ResNet.MLNet.Transforms.Caching;

/// <summary>Pixel slots on the managed heap, in chunks of at most 64 MiB.</summary>
internal sealed class ManagedPixelSlots(int slotBytes) : PixelSlots(slotBytes)
{
    private const int ChunkBytes = 64 << 20;
    private readonly List<byte[]> _chunks = [];
    private readonly int _slotsPerChunk = Math.Max(1, ChunkBytes / slotBytes);

    public override long Capacity => (long)_chunks.Count * _slotsPerChunk;

    public override void EnsureCapacity(long slots)
    {
        while (Capacity < slots) _chunks.Add(new byte[(long)_slotsPerChunk * SlotBytes]);
    }

    public override Span<byte> this[long slot]
    {
        get
        {
            CheckSlot(slot);
            return _chunks[(int)(slot / _slotsPerChunk)].AsSpan((int)(slot % _slotsPerChunk) * SlotBytes, SlotBytes);
        }
    }
}
