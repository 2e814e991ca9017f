using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// One buffered batch of rows handed to a <see cref="BatchComputation"/>: the values of the input columns it
/// declared, and the slots it must fill for every output column. Only indices <c>[0, Count)</c> belong to the
/// batch; arrays are reused from batch to batch (so vector outputs can reuse their storage).
/// </summary>
internal sealed class RowBatch
{
    private readonly Dictionary<string, ColumnBuffer> _inputs;
    private readonly ColumnBuffer[] _outputs;
    private readonly Dictionary<string, int> _outputIndex;

    internal RowBatch(Dictionary<string, ColumnBuffer> inputs, ColumnBuffer[] outputs, IReadOnlyList<BatchOutputColumn> outputColumns, Random? random)
    {
        _inputs = inputs;
        _outputs = outputs;
        _outputIndex = outputColumns.Select((c, i) => (c.Name, i)).ToDictionary(p => p.Name, p => p.i);
        Random = random;
    }

    /// <summary>
    /// Number of rows to compute (at most the view's batch size; the last batch may be smaller; fewer when the consumer
    /// promised to read only some rows, see <see cref="ITensorBatchCursor.ReadOnlyWhere"/>).
    /// </summary>
    public int Count { get; internal set; }

    /// <summary>Rows the view read for this batch; <see cref="Count"/> of them are computed.</summary>
    public int BatchRows { get; internal set; }

    /// <summary>
    /// For each computed row, its row index in the batch (0 … <see cref="BatchRows"/> − 1), or null when every row is
    /// computed. Computations that draw per-row random values draw for all <see cref="BatchRows"/> rows and take these,
    /// so a row's values do not depend on which other rows are computed.
    /// </summary>
    public IReadOnlyList<int>? ComputedRows { get; internal set; }

    /// <summary>Zero-based index of this batch within the cursor's pass.</summary>
    public long Index { get; internal set; }

    /// <summary>
    /// The cursor's own random generator on a training pass (the consumer asked for a cursor with a
    /// <see cref="Random"/>), or null on a scoring pass, which must be deterministic.
    /// </summary>
    public Random? Random { get; }

    /// <summary>True on a training pass (see <see cref="Random"/>).</summary>
    public bool IsTraining => Random is not null;

    /// <summary>
    /// The values of input column <paramref name="columnName"/> (one of the view's declared dependencies);
    /// <typeparamref name="T"/> is the column's raw type, e.g. <c>VBuffer&lt;byte&gt;</c>, <c>float</c>,
    /// <c>ReadOnlyMemory&lt;char&gt;</c>. Treat it as read-only.
    /// </summary>
    public T[] Input<T>(string columnName)
    {
        if (!_inputs.TryGetValue(columnName, out var buffer))
            throw new ArgumentException($"Column '{columnName}' is not a declared input of this batch computation.", nameof(columnName));
        return buffer is ColumnBuffer<T> typed
            ? typed.Values
            : throw new InvalidOperationException($"Input column '{columnName}' is not of raw type {typeof(T).Name}.");
    }

    /// <summary>
    /// The values of input column <paramref name="columnName"/> (declared as a tensor dependency of the view) as one
    /// tensor <c>[Count, …]</c> of Byte or Float32, created in the caller's dispose scope. It may share memory with the
    /// source, so it is read-only and valid only during this computation.
    /// </summary>
    public Tensor InputTensor(string columnName)
    {
        if (!_inputs.TryGetValue(columnName, out var buffer))
            throw new ArgumentException($"Column '{columnName}' is not a declared input of this batch computation.", nameof(columnName));
        return buffer switch
        {
            TensorInputBuffer<byte> bytes => bytes.Take(Count),
            TensorInputBuffer<float> floats => floats.Take(Count),
            _ => throw new InvalidOperationException($"Input column '{columnName}' is not declared as a tensor dependency."),
        };
    }

    /// <summary>
    /// Sets tensor output column <paramref name="columnName"/> to <paramref name="values"/> (<c>[Count, …]</c>, Float32,
    /// CPU); the batch takes its own reference, so the caller may dispose <paramref name="values"/>.
    /// </summary>
    public void SetOutput(string columnName, Tensor values)
    {
        if (!_outputIndex.TryGetValue(columnName, out int index))
            throw new ArgumentException($"Column '{columnName}' is not an output of this batch computation.", nameof(columnName));
        if (_outputs[index] is not TensorOutputBuffer buffer)
            throw new InvalidOperationException($"Output column '{columnName}' is not declared as a tensor column.");
        buffer.Set(values, Count);
    }

    /// <summary>The slots of output column <paramref name="columnName"/>, to be filled for indices <c>[0, Count)</c>.</summary>
    public T[] Output<T>(string columnName)
    {
        if (!_outputIndex.TryGetValue(columnName, out int index))
            throw new ArgumentException($"Column '{columnName}' is not an output of this batch computation.", nameof(columnName));
        return _outputs[index] is ColumnBuffer<T> typed
            ? typed.Values
            : throw new InvalidOperationException($"Output column '{columnName}' is not of raw type {typeof(T).Name}.");
    }
}

/// <summary>Fills every output slot of <paramref name="batch"/> from its input values, for the whole batch at once.</summary>
internal delegate void BatchComputation(RowBatch batch);

/// <summary>An output column a <see cref="BatchedDataView"/> adds (a name equal to an input column hides it).</summary>
/// <param name="Name">Column name.</param>
/// <param name="Type">Column type; its raw type is the element type of <see cref="RowBatch.Output{T}"/>.</param>
/// <param name="Annotations">Optional annotations (e.g. slot names).</param>
/// <param name="IsTensor">
/// The computation sets the column as one tensor per batch (<see cref="RowBatch.SetOutput"/>) instead of filling slots;
/// the type must be a known-size vector of Single. The view's cursors then serve it to batch consumers as tensors
/// (<see cref="ITensorBatchCursor"/>).
/// </param>
internal sealed record BatchOutputColumn(string Name, DataViewType Type, DataViewSchema.Annotations? Annotations = null, bool IsTensor = false);
