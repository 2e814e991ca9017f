using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// Slots of an input column of Byte or Single image vectors that a batch computation reads as ONE tensor
/// (<see cref="RowBatch.InputTensor"/>). When the source cursor computes the column as batch tensors
/// (<see cref="ITensorBatchCursor"/>) the rows are taken from those tensors without copying; otherwise every row is
/// copied once into a staging tensor (native memory, allocated once per cursor, so no large managed arrays to collect).
/// </summary>
internal sealed class TensorInputBuffer<T> : ColumnBuffer where T : unmanaged
{
    private readonly int _capacity;
    private readonly long[] _rowShape;
    private readonly int _rowLength;
    private readonly TensorRows _rows = new();
    private Tensor? _stage;
    private ITensorBatchCursor? _tensorSource;
    private DataViewSchema.Column _column;
    private ValueGetter<VBuffer<T>>? _getter;
    private VBuffer<T> _scratch;
    private int _filled;

    public TensorInputBuffer(VectorDataViewType type, int capacity)
    {
        _capacity = capacity;
        _rowShape = type.Dimensions.Select(d => (long)d).ToArray();
        _rowLength = type.Size;
    }

    public override void Bind(DataViewRow source, DataViewSchema.Column column)
    {
        _tensorSource = source as ITensorBatchCursor;
        _column = column;
        _getter = source.GetGetter<VBuffer<T>>(column);
    }

    public override void BeginBatch()
    {
        _rows.Clear();
        _filled = 0;
    }

    /// <summary>
    /// Reads the current row as the next computed row (rows the consumer will not read are not filled, so the computed
    /// rows are packed: the n-th filled row is row n of <see cref="Take"/>).
    /// </summary>
    public override void Fill(int slot)
    {
        int position = _filled++;
        if (_tensorSource is not null && _tensorSource.TryGetBatchTensor(_column, out var batch, out int row))
        {
            if (position != _rows.Count) throw new InvalidOperationException($"Column '{_column.Name}' switched between tensor and row values within a batch.");
            _rows.Add(batch, row);
            return;
        }

        if (_rows.Count > 0) throw new InvalidOperationException($"Column '{_column.Name}' switched between tensor and row values within a batch.");
        _getter!(ref _scratch);
        if (_scratch.Length != _rowLength)
            throw new InvalidDataException($"A value of column '{_column.Name}' has {_scratch.Length} values; expected {_rowLength}.");
        ColumnChecks.Dense(_scratch).CopyTo(StageRow(position));
    }

    /// <summary>
    /// The batch's <paramref name="count"/> filled rows as one tensor <c>[count, …]</c> (Byte or Float32), created in the
    /// caller's dispose scope. It may share memory with the source's tensors or the staging array, so it is valid only
    /// during the computation and must not be modified.
    /// </summary>
    public Tensor Take(int count)
    {
        if (_rows.Count > 0)
        {
            if (_rows.Count != count) throw new InvalidOperationException($"Column '{_column.Name}' holds {_rows.Count} tensor rows; the batch has {count}.");
            return _rows.Build();
        }

        if (_stage is null) throw new InvalidOperationException($"Column '{_column.Name}' holds no rows.");
        return _stage.narrow(0, 0, count);
    }

    public override Delegate CreateGetter(Func<int> currentSlot)
    {
        ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> value) =>
        {
            int slot = currentSlot();
            var editor = VBufferEditor.Create(ref value, _rowLength);
            if (_rows.Count > 0) _rows.CopyRow<T>(slot, editor.Values);
            else StageRow(slot).CopyTo(editor.Values);
            value = editor.Commit();
        };
        return getter;
    }

    private Span<T> StageRow(int slot)
    {
        if (_stage is null)
        {
            _stage = empty([_capacity, .. _rowShape], TensorSpans.ScalarTypeOf<T>());
            _stage.DetachFromDisposeScope();
        }

        return MemoryMarshal.Cast<byte, T>(_stage.bytes).Slice(slot * _rowLength, _rowLength);
    }

    public override void Release()
    {
        _rows.Clear();
        _stage?.Dispose();
        _stage = null;
    }
}
