using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// Holds the values of one column for every row of a look-ahead buffer. Values are copied out of the source
/// getter (vectors get their own storage per slot), so they stay valid after the source cursor moves on.
/// </summary>
internal abstract class ColumnBuffer
{
    /// <summary>Creates a buffer of <paramref name="capacity"/> slots for a column of <paramref name="type"/>.</summary>
    public static ColumnBuffer Create(DataViewType type, int capacity)
    {
        Type raw = type.RawType;
        Type bufferType = raw.IsGenericType && raw.GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? typeof(VectorColumnBuffer<>).MakeGenericType(raw.GetGenericArguments()[0])
            : typeof(ValueColumnBuffer<>).MakeGenericType(raw);
        return (ColumnBuffer)Activator.CreateInstance(bufferType, capacity)!;
    }

    /// <summary>Binds this buffer to the getter of <paramref name="column"/> on a source cursor.</summary>
    public abstract void Bind(DataViewRow source, DataViewSchema.Column column);

    /// <summary>Reads the source cursor's current value into <paramref name="slot"/>.</summary>
    public abstract void Fill(int slot);

    /// <summary>A getter that serves the value of the slot <paramref name="currentSlot"/> returns.</summary>
    public abstract Delegate CreateGetter(Func<int> currentSlot);

    /// <summary>Called before the first <see cref="Fill"/> of every batch.</summary>
    public virtual void BeginBatch() { }

    /// <summary>Releases native memory the buffer holds (its cursor is disposed).</summary>
    public virtual void Release() { }
}

/// <summary>A column buffer whose slots hold values of the column's raw type <typeparamref name="T"/>.</summary>
internal abstract class ColumnBuffer<T> : ColumnBuffer
{
    protected ColumnBuffer(int capacity) => Values = new T[capacity];

    /// <summary>The slot values (only the first <see cref="RowBatch.Count"/> belong to the current batch).</summary>
    public T[] Values { get; }
}

/// <summary>Slots of a scalar column (numbers, text, booleans, keys, images and other reference values).</summary>
internal sealed class ValueColumnBuffer<T> : ColumnBuffer<T>
{
    private ValueGetter<T>? _source;

    public ValueColumnBuffer(int capacity) : base(capacity) { }

    public override void Bind(DataViewRow source, DataViewSchema.Column column) => _source = source.GetGetter<T>(column);

    public override void Fill(int slot) => _source!(ref Values[slot]);

    public override Delegate CreateGetter(Func<int> currentSlot)
    {
        ValueGetter<T> getter = (ref T value) => value = Values[currentSlot()];
        return getter;
    }
}

/// <summary>Slots of a vector column; every slot owns its storage and getters hand out copies.</summary>
internal sealed class VectorColumnBuffer<T> : ColumnBuffer<VBuffer<T>>
{
    private ValueGetter<VBuffer<T>>? _source;
    private VBuffer<T> _scratch;

    public VectorColumnBuffer(int capacity) : base(capacity) { }

    public override void Bind(DataViewRow source, DataViewSchema.Column column) =>
        _source = source.GetGetter<VBuffer<T>>(column);

    public override void Fill(int slot)
    {
        // Read into scratch storage and copy, so a source that hands out its own arrays cannot alias the slot.
        _source!(ref _scratch);
        _scratch.CopyTo(ref Values[slot]);
    }

    public override Delegate CreateGetter(Func<int> currentSlot)
    {
        ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> value) => Values[currentSlot()].CopyTo(ref value);
        return getter;
    }
}
