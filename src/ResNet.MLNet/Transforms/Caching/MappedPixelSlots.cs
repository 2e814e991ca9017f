using System.IO.MemoryMappedFiles;

namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// Pixel slots in a file, memory-mapped: the operating system's page cache holds what fits and drops what does not,
/// so the process's own memory stays small whatever the file's size.
/// </summary>
internal sealed unsafe class MappedPixelSlots : PixelSlots
{
    private readonly FileStream _file;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _capacity;
    private bool _disposed;

    /// <summary>Opens (or creates) <paramref name="path"/>; its whole slots are addressable.</summary>
    public MappedPixelSlots(string path, int slotBytes) : base(slotBytes)
    {
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        Map(_file.Length / slotBytes);
    }

    public override long Capacity => _capacity;

    public override void EnsureCapacity(long slots)
    {
        if (slots <= _capacity) return;
        Unmap();
        _file.SetLength(slots * SlotBytes);
        Map(slots);
    }

    public override Span<byte> this[long slot]
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckSlot(slot);
            return new Span<byte>(_base + slot * SlotBytes, SlotBytes);
        }
    }

    public override void Flush()
    {
        _view?.Flush();
        _file.Flush(flushToDisk: true);
    }

    public override void Dispose()
    {
        _disposed = true;
        Unmap();
        _file.Dispose();
    }

    private void Map(long slots)
    {
        _capacity = slots;
        if (slots == 0) return;
        long bytes = slots * SlotBytes;
        _map = MemoryMappedFile.CreateFromFile(_file, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    private void Unmap()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _view = null;
        }
        _map?.Dispose();
        _map = null;
        _base = null;
        _capacity = 0;
    }
}
