using System.IO.MemoryMappedFiles;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// Pixel slots in a file, memory-mapped: the operating system's page cache holds what fits and drops what does not,
/// so the process's own memory stays small whatever the file's size. Growing reserves the disk blocks first, so a
/// full disk is an error rather than a fault while writing; a read-only mapping serves a store that cannot be updated.
/// </summary>
internal sealed unsafe class MappedPixelSlots : PixelSlots
{
    private readonly FileStream _file;
    private readonly MemoryMappedFileAccess _access;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _capacity;
    private bool _disposed;

    /// <summary>Opens (or creates) <paramref name="path"/>; its whole slots are addressable.</summary>
    public MappedPixelSlots(string path, int slotBytes) : this(path, slotBytes, writable: true)
    {
    }

    private MappedPixelSlots(string path, int slotBytes, bool writable) : base(slotBytes)
    {
        _access = writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
        _file = writable
            ? new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete)
            : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Map(_file.Length / slotBytes);
    }

    /// <summary>Opens <paramref name="path"/> for reading only (its slots must not be written).</summary>
    public static MappedPixelSlots OpenReadOnly(string path, int slotBytes) => new(path, slotBytes, writable: false);

    public override long Capacity => _capacity;

    public override void EnsureCapacity(long slots)
    {
        if (slots <= _capacity) return;
        long capacity = _capacity;
        Unmap();
        try
        {
            DiskSpace.Reserve(_file, slots * SlotBytes);
        }
        finally
        {
            Map(_file.Length / SlotBytes < slots ? capacity : slots);
        }
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
        _map = MemoryMappedFile.CreateFromFile(_file, null, bytes, _access, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, bytes, _access);
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
