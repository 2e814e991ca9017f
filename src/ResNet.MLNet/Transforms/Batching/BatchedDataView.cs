using System.Diagnostics.CodeAnalysis;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// A look-ahead data view for computations that are only efficient on whole batches (TorchSharp augmentation,
/// batched scoring). Its cursor reads up to <c>batchSize</c> rows from the input cursor, caching the values of
/// every active input column (any type: numbers, text, bools, keys, vectors, images), calls the
/// <see cref="BatchComputation"/> ONCE for the buffered rows to fill the added output columns, then serves the
/// rows one by one; after the last buffered row it reads the next batch.
/// </summary>
/// <remarks>
/// <para>Training vs scoring: a cursor requested with a non-null <see cref="Random"/> is a training pass. The
/// view hands that same <see cref="Random"/> to the input's <c>GetRowCursor</c> (so a shuffling source below,
/// such as a cache checkpoint, reorders rows every epoch), then seeds the batch's own generator from it
/// (<see cref="RowBatch.Random"/>); with a null <see cref="Random"/> the batch sees null and must be deterministic. <see cref="CanShuffle"/> is the input's.</para>
/// <para>The computation runs only when a cursor asks for at least one output column; its declared input
/// dependencies are then activated on the input cursor. Output columns are appended to the input schema (a name
/// equal to an input column hides the input column, as in ML.NET transforms). Row-level getters copy vector
/// values, so consumers may keep or mutate what they receive; reference values (images) are handed out as is and stay
/// valid while their batch is served (a computation may dispose the previous batch's outputs when it refills a slot). A cursor set is a single cursor: parallelism
/// belongs inside the batch computation.</para>
/// <example><code>
/// var view = new BatchedDataView(input,
///     [new BatchOutputColumn("Twice", NumberDataViewType.Single)], ["X"],
///     batch =&gt; { var x = batch.Input&lt;float&gt;("X"); var y = batch.Output&lt;float&gt;("Twice");
///               for (int i = 0; i &lt; batch.Count; i++) y[i] = 2 * x[i]; },
///     batchSize: 64);
/// </code></example>
/// </remarks>
internal sealed class BatchedDataView : IDataView
{
    private readonly IDataView _input;
    private readonly BatchOutputColumn[] _outputs;
    private readonly DataViewSchema.Column[] _dependencies;
    private readonly HashSet<string> _tensorDependencies;
    private readonly BatchComputation _compute;
    private readonly int _batchSize;
    private readonly int _inputColumnCount;

    /// <summary>Creates the view.</summary>
    /// <param name="input">The source view.</param>
    /// <param name="outputs">The columns the computation adds.</param>
    /// <param name="dependencies">Input columns the computation reads through <see cref="RowBatch.Input{T}"/>.</param>
    /// <param name="compute">Fills every output slot for a whole batch.</param>
    /// <param name="batchSize">Maximum rows per batch (≥ 1).</param>
    /// <param name="tensorDependencies">
    /// Input columns (known-size vectors of Byte or Single) the computation reads as one tensor through
    /// <see cref="RowBatch.InputTensor"/>; taken from the source's batch tensors without copying when it serves them.
    /// </param>
    public BatchedDataView(IDataView input, IReadOnlyList<BatchOutputColumn> outputs, IReadOnlyList<string> dependencies,
        BatchComputation compute, int batchSize, IReadOnlyList<string>? tensorDependencies = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(dependencies);
        ArgumentNullException.ThrowIfNull(compute);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (outputs.Count == 0) throw new ArgumentException("At least one output column is required.", nameof(outputs));
        if (outputs.Select(o => o.Name).Distinct().Count() != outputs.Count)
            throw new ArgumentException("Output column names must be distinct.", nameof(outputs));

        _input = input;
        _outputs = outputs.ToArray();
        _tensorDependencies = [.. tensorDependencies ?? []];
        _dependencies = dependencies.Concat(_tensorDependencies).Distinct().Select(name => input.Schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(dependencies), $"Input column '{name}' not found.")).ToArray();
        foreach (var column in _dependencies.Where(d => _tensorDependencies.Contains(d.Name)))
            if (!IsImageVector(column.Type, allowBytes: true))
                throw new ArgumentException($"Tensor dependency '{column.Name}' must be a known-size vector of Byte or Single; it is {column.Type}.", nameof(tensorDependencies));
        foreach (var output in _outputs.Where(o => o.IsTensor))
            if (!IsImageVector(output.Type, allowBytes: false))
                throw new ArgumentException($"Tensor output '{output.Name}' must be a known-size vector of Single; it is {output.Type}.", nameof(outputs));
        _compute = compute;
        _batchSize = batchSize;
        _inputColumnCount = input.Schema.Count;

        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input.Schema);
        foreach (var output in _outputs)
            builder.AddColumn(output.Name, output.Type, output.Annotations);
        Schema = builder.ToSchema();
    }

    private static bool IsImageVector(DataViewType type, bool allowBytes) =>
        type is VectorDataViewType { IsKnownSize: true } vector
        && (vector.ItemType == NumberDataViewType.Single || (allowBytes && vector.ItemType == NumberDataViewType.Byte));

    /// <summary>Input view.</summary>
    public IDataView Input => _input;

    /// <summary>Maximum rows per batch.</summary>
    public int BatchSize => _batchSize;

    /// <inheritdoc />
    public bool CanShuffle => _input.CanShuffle;

    /// <inheritdoc />
    public DataViewSchema Schema { get; }

    /// <inheritdoc />
    public long? GetRowCount() => _input.GetRowCount();

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var needed = new bool[Schema.Count];
        foreach (var column in columnsNeeded)
        {
            if (column.Index < 0 || column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
                throw new ArgumentException($"Column '{column.Name}' does not belong to this view's schema.", nameof(columnsNeeded));
            needed[column.Index] = true;
        }

        bool computeOutputs = needed.AsSpan(_inputColumnCount).Contains(true);
        var inputActive = new bool[_inputColumnCount];
        Array.Copy(needed, inputActive, _inputColumnCount);
        if (computeOutputs)
            foreach (var dependency in _dependencies)
                inputActive[dependency.Index] = true;

        var inputColumns = _input.Schema.Where(c => inputActive[c.Index]).ToArray();
        var source = _input.GetRowCursor(inputColumns, rand);
        // The batch generator is seeded after the source drew from rand, so a seeded rand reproduces both.
        var batchRandom = rand is null ? null : DeriveRandom(rand);
        return new Cursor(this, source, inputColumns, needed, computeOutputs, batchRandom);
    }

    /// <summary>
    /// A generator seeded from <paramref name="rand"/> through a SplitMix64 scramble: seeded <see cref="Random"/>s whose
    /// seeds are close (epoch 1, 2, 3…) start with nearly linear outputs, which would make "random" draws of
    /// consecutive epochs almost equal.
    /// </summary>
    internal static Random DeriveRandom(Random rand)
    {
        ulong z = ((ulong)(uint)rand.Next() << 32) | (uint)rand.Next();
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return new Random((int)(z & int.MaxValue));
    }

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor, ITensorBatchCursor
    {
        private readonly BatchedDataView _parent;
        private readonly DataViewRowCursor _source;
        private readonly bool[] _active;
        private readonly bool _computeOutputs;
        private readonly ColumnBuffer[] _inputBuffers;      // indexed by input column index (null when inactive)
        private readonly ColumnBuffer[] _outputBuffers;
        private readonly DataViewRowId[] _ids;
        private readonly ValueGetter<DataViewRowId> _sourceId;
        private readonly RowBatch _batch;
        private int _slot = -1;
        private int _count;
        private int _keepColumn = -1;      // input column of the consumer's promise (ReadOnlyWhere), or −1
        private bool _keepValue;
        private readonly int[] _computedRow;  // slot → row of the computed tensors (−1: not computed)
        private readonly List<int> _computedSlots = [];
        private long _position = -1;
        private long _batchIndex = -1;
        private bool _sourceDone;

        public Cursor(BatchedDataView parent, DataViewRowCursor source, DataViewSchema.Column[] inputColumns, bool[] active,
            bool computeOutputs, Random? random)
        {
            _parent = parent;
            _source = source;
            _active = active;
            _computeOutputs = computeOutputs;
            int capacity = parent._batchSize;
            _inputBuffers = new ColumnBuffer[parent._inputColumnCount];
            foreach (var column in inputColumns)
            {
                var buffer = computeOutputs && parent._tensorDependencies.Contains(column.Name)
                    ? TensorInput((VectorDataViewType)column.Type, capacity)
                    : ColumnBuffer.Create(column.Type, capacity);
                buffer.Bind(source, column);
                _inputBuffers[column.Index] = buffer;
            }

            _outputBuffers = parent._outputs.Select(o => o.IsTensor
                ? new TensorOutputBuffer(o.Name, ((VectorDataViewType)o.Type).Size)
                : ColumnBuffer.Create(o.Type, capacity)).ToArray();
            _ids = new DataViewRowId[capacity];
            _computedRow = new int[capacity];
            _sourceId = source.GetIdGetter();
            var dependencyBuffers = computeOutputs
                ? parent._dependencies.ToDictionary(d => d.Name, d => _inputBuffers[d.Index])
                : [];
            _batch = new RowBatch(dependencyBuffers, _outputBuffers, parent._outputs, random);
        }

        private static ColumnBuffer TensorInput(VectorDataViewType type, int capacity) =>
            type.ItemType == NumberDataViewType.Byte
                ? new TensorInputBuffer<byte>(type, capacity)
                : new TensorInputBuffer<float>(type, capacity);

        public override DataViewSchema Schema => _parent.Schema;

        public bool TryGetBatchTensor(DataViewSchema.Column column, [NotNullWhen(true)] out Tensor? batch, out int row)
        {
            int output = column.Index - _parent._inputColumnCount;
            if (IsColumnActive(column) && output >= 0 && _outputBuffers[output] is TensorOutputBuffer { Batch: { } current }
                && _computedRow[CurrentSlot()] >= 0)
            {
                batch = current;
                row = _computedRow[CurrentSlot()];
                return true;
            }

            batch = null;
            row = -1;
            return false;
        }

        public void ReadOnlyWhere(DataViewSchema.Column column, bool value)
        {
            if (_position >= 0) throw new InvalidOperationException("ReadOnlyWhere must be called before the first MoveNext.");
            int index = column.Index;
            bool eligible = index >= 0 && index < _parent._inputColumnCount && _inputBuffers[index] is ValueColumnBuffer<bool>
                && _computeOutputs
                && _parent._outputs.All(o => o.IsTensor)
                && _parent._dependencies.All(d => _parent._tensorDependencies.Contains(d.Name) && !_active[d.Index]);
            if (!eligible) return;
            _keepColumn = index;
            _keepValue = value;
            (_source as ITensorBatchCursor)?.ReadOnlyWhere(_parent._input.Schema[index], value);
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index >= 0 && column.Index < _active.Length && _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
            int index = column.Index;
            var buffer = index < _parent._inputColumnCount ? _inputBuffers[index] : _outputBuffers[index - _parent._inputColumnCount];
            Func<int> slot = index < _parent._inputColumnCount ? CurrentSlot : ComputedRow;
            return buffer.CreateGetter(slot) as ValueGetter<TValue>
                ?? throw new InvalidOperationException(
                    $"Column '{column.Name}' has type {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = _ids[CurrentSlot()];

        public override bool MoveNext()
        {
            if (_slot + 1 < _count)
            {
                _slot++;
                _position++;
                return true;
            }

            if (_sourceDone || !FillBatch())
            {
                _slot = _count = 0;
                return false;
            }

            _slot = 0;
            _position++;
            return true;
        }

        private bool FillBatch()
        {
            int count = 0;
            foreach (var buffer in _inputBuffers)
                buffer?.BeginBatch();
            _computedSlots.Clear();
            while (count < _parent._batchSize && _source.MoveNext())
            {
                bool computed = true;
                if (_keepColumn >= 0)
                {
                    var flag = (ValueColumnBuffer<bool>)_inputBuffers[_keepColumn];
                    flag.Fill(count);
                    computed = flag.Values[count] == _keepValue;
                }

                for (int i = 0; i < _inputBuffers.Length; i++)
                    if (_inputBuffers[i] is { } buffer && i != _keepColumn && (computed || buffer is not (TensorInputBuffer<byte> or TensorInputBuffer<float>)))
                        buffer.Fill(count);
                _computedRow[count] = computed ? _computedSlots.Count : -1;
                if (computed) _computedSlots.Add(count);
                _sourceId(ref _ids[count]);
                count++;
            }

            if (count < _parent._batchSize) _sourceDone = true;
            _count = count;
            if (count == 0) return false;
            _batchIndex++;
            if (_computeOutputs && _computedSlots.Count > 0)
            {
                _batch.BatchRows = count;
                _batch.ComputedRows = _computedSlots.Count == count ? null : _computedSlots;
                _batch.Count = _computedSlots.Count;
                _batch.Index = _batchIndex;
                _parent._compute(_batch);
            }

            return true;
        }

        /// <summary>The current row's index in the computed outputs; throws for a row the consumer promised not to read.</summary>
        private int ComputedRow()
        {
            int row = _computedRow[CurrentSlot()];
            return row >= 0 ? row : throw new InvalidOperationException(
                $"Row {_position} was not computed: the reader promised to read computed columns only where '{_parent._input.Schema[_keepColumn].Name}' is {_keepValue}.");
        }

        private int CurrentSlot()
        {
            if (_slot < 0 || _slot >= _count)
                throw new InvalidOperationException("The cursor is not positioned on a row.");
            return _slot;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _source.Dispose();
                foreach (var buffer in _inputBuffers.Concat(_outputBuffers))
                    buffer?.Release();
            }

            base.Dispose(disposing);
        }
    }
}
