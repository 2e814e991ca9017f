using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// Collects rows of batch tensors served by an <see cref="ITensorBatchCursor"/> (each row a (tensor, index) pair) and
/// assembles them into one <c>[count, …]</c> tensor: a view without copying when the rows are consecutive rows of a
/// single tensor (the usual case: equal batch sizes, no rows filtered out), else one concatenation of the runs.
/// Holds its own alias of every source tensor, so the rows stay valid after the cursor moves on.
/// </summary>
internal sealed class TensorRows : IDisposable
{
    private readonly List<Tensor> _sources = [];
    private readonly List<(int Source, int Row)> _rows = [];
    private Tensor? _lastSeen;

    /// <summary>Rows collected since the last <see cref="Clear"/>.</summary>
    public int Count => _rows.Count;

    /// <summary>Adds row <paramref name="row"/> of <paramref name="batch"/>.</summary>
    public void Add(Tensor batch, int row)
    {
        if (!ReferenceEquals(batch, _lastSeen))
        {
            var alias = batch.alias();
            alias.DetachFromDisposeScope();
            _sources.Add(alias);
            _lastSeen = batch;
        }

        _rows.Add((_sources.Count - 1, row));
    }

    /// <summary>The collected rows as one tensor <c>[Count, …]</c>, owned by the caller (created in its dispose scope).</summary>
    public Tensor Build()
    {
        if (_rows.Count == 0) throw new InvalidOperationException("No rows were collected.");
        using var scope = NewDisposeScope();
        var runs = new List<Tensor>();
        for (int i = 0; i < _rows.Count;)
        {
            var (source, start) = _rows[i];
            int end = i + 1;
            while (end < _rows.Count && _rows[end].Source == source && _rows[end].Row == start + (end - i)) end++;
            runs.Add(_sources[source].narrow(0, start, end - i));
            i = end;
        }

        var result = runs.Count == 1 ? runs[0] : cat(runs, 0);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Copies the values of collected row <paramref name="index"/> into <paramref name="destination"/>.</summary>
    public void CopyRow<T>(int index, Span<T> destination) where T : unmanaged
    {
        var (source, row) = _rows[index];
        var values = TensorSpans.Row<T>(_sources[source], row);
        if (values.Length != destination.Length)
            throw new InvalidOperationException($"A tensor row has {values.Length} values; expected {destination.Length}.");
        values.CopyTo(destination);
    }

    /// <summary>Forgets the rows and releases the aliases.</summary>
    public void Clear()
    {
        foreach (var source in _sources) source.Dispose();
        _sources.Clear();
        _rows.Clear();
        _lastSeen = null;
    }

    public void Dispose() => Clear();
}
