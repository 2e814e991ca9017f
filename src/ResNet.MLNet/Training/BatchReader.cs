using System.Diagnostics.CodeAnalysis;
using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;
using TorchSharp;

namespace ResNet.MLNet.Training;

/// <summary>
/// Reads one pass over <see cref="TrainingData"/> as <see cref="ImageBatch"/>es. With <c>prefetch</c> &gt; 0 a background
/// thread reads up to that many batches ahead, so data loading overlaps a GPU's compute; with 0 (the CPU) every batch is
/// read on the consumer's thread when it asks for it: the model's step already keeps every core busy, and torch work
/// from a second thread only oversubscribes them (docs/benchmarks.md). Training passes ask for a cursor with a <see cref="Random"/>
/// (upstream augmentation and shuffling key on it); when the view cannot shuffle, rows go through a bounded shuffle
/// pool instead. The consumer owns (and disposes) every batch it takes.
/// </summary>
internal sealed class BatchReader : IDisposable
{
    /// <summary>Upper bound of the shuffle pool's memory when the view cannot shuffle itself.</summary>
    private const long ShufflePoolBytes = 256L << 20;

    private readonly BlockingCollection<ImageBatch>? _queue;
    private readonly CancellationTokenSource _stop;
    private readonly Task _producer = Task.CompletedTask;
    private readonly Func<Action<long>, IEnumerable<ImageBatch>> _read;
    private readonly Func<Exception, long, Exception> _failed;
    private Exception? _failure;

    /// <summary>Starts reading a pass (see the class remarks for <paramref name="prefetch"/>).</summary>
    public BatchReader(TrainingData data, int batchSize, Random? random, bool dropLast, string passName, CancellationToken cancellation, int prefetch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = _stop.Token;
        _read = progress => Read(data, batchSize, random, dropLast, token, progress);
        _failed = (ex, row) => new InvalidOperationException(
            $"Reading {passName} batches from {data.Description} failed near row {row} of the pass: {ex.Message}", ex);
        if (prefetch == 0) return;
        _queue = new BlockingCollection<ImageBatch>(prefetch);
        _producer = Task.Factory.StartNew(() =>
        {
            long row = 0;
            try
            {
                foreach (var batch in _read(r => row = r))
                {
                    try { _queue.Add(batch, token); }
                    catch { batch.Dispose(); throw; }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { }
            catch (Exception ex)
            {
                _failure = _failed(ex, row);
            }
            finally { _queue.CompleteAdding(); }
        }, token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Takes the batches in order; a reading failure is rethrown with the pass, the data and the row.</summary>
    public IEnumerable<ImageBatch> Batches() => _queue is null ? Inline() : Prefetched(_queue);

    /// <summary>The default for a device: read inline on the CPU, 2 batches ahead on a GPU.</summary>
    public static int DefaultPrefetch(DeviceType device) => device == DeviceType.CPU ? 0 : 2;

    /// <summary>The per-epoch Random a training pass hands the cursor (drives upstream shuffling and augmentation).</summary>
    public static Random EpochRandom(int seed, int epoch) => new(unchecked(seed * 1_000_003 + epoch * 7919 + 17));

    private IEnumerable<ImageBatch> Prefetched(BlockingCollection<ImageBatch> queue)
    {
        foreach (var batch in queue.GetConsumingEnumerable())
            yield return batch;
        if (_failure is not null) throw _failure;
    }

    private IEnumerable<ImageBatch> Inline()
    {
        long row = 0;
        using var batches = _read(r => row = r).GetEnumerator();
        while (true)
        {
            bool more;
            try { more = batches.MoveNext(); }
            catch (OperationCanceledException) { throw; }
            catch (Exception ex) { throw _failed(ex, row); }
            if (!more) break;
            yield return batches.Current;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _producer.Wait(); } catch (AggregateException) { }
        if (_queue is not null)
        {
            while (_queue.TryTake(out var left)) left.Dispose();
            _queue.Dispose();
        }
        _stop.Dispose();
    }

    /// <summary>Rows held by the shuffle pool used when the view cannot shuffle itself.</summary>
    public static int ShufflePoolRows(TrainingData data, int batchSize) =>
        (int)Math.Clamp(ShufflePoolBytes / (4L * data.RowSize), batchSize, 100_000);

    /// <summary>
    /// The pass's batches: straight from the cursor (rows of the upstream batch tensors when it serves them, else every
    /// row's pixels copied once), or through the shuffle pool when the view cannot shuffle itself.
    /// </summary>
    private static IEnumerable<ImageBatch> Read(TrainingData data, int batchSize, Random? random, bool dropLast,
        CancellationToken token, Action<long> progress)
    {
        using var rows = new RowReader(data, random, progress);
        using var batch = new BatchAssembler(data, batchSize);
        if (random is not null && !data.View.CanShuffle)
        {
            var pooled = ShufflePool(rows.Rows(token).Select(_ => (Pixels: rows.CopyPixels(), rows.Label)), ShufflePoolRows(data, batchSize), random);
            foreach (var (pixels, label) in pooled)
            {
                batch.AddPixels(pixels.GetValues(), label);
                if (batch.IsFull) yield return batch.Take();
            }
        }
        else
        {
            foreach (var _ in rows.Rows(token))
            {
                if (rows.TryGetTensorRow(out var tensor, out int row)) batch.AddTensorRow(tensor, row, rows.Label);
                else batch.AddPixels(rows.ReadPixels().GetValues(), rows.Label);
                if (batch.IsFull) yield return batch.Take();
            }
        }
        if (batch.Count > 0 && !dropLast) yield return batch.Take();
    }

    /// <summary>
    /// One pass's cursor, validated row by row: the label (zero-based) and the pixels of the current row, read either
    /// as a row of the upstream batch tensor (<see cref="ITensorBatchCursor"/>) or through the getter.
    /// </summary>
    private sealed class RowReader : IDisposable
    {
        private readonly TrainingData _data;
        private readonly DataViewRowCursor _cursor;
        private readonly ITensorBatchCursor? _tensors;
        private readonly ValueGetter<VBuffer<float>> _featureGetter;
        private readonly ValueGetter<uint> _labelGetter;
        private readonly ValueGetter<bool>? _splitGetter;
        private readonly Action<long> _progress;
        private VBuffer<float> _pixels;
        private long _row = -1;

        public RowReader(TrainingData data, Random? random, Action<long> progress)
        {
            _data = data;
            _progress = progress;
            var columns = new List<DataViewSchema.Column> { data.Features, data.Label };
            if (data.Split is not null) columns.Add(data.Split.Value);
            _cursor = data.View.GetRowCursor(columns, random);
            _tensors = _cursor as ITensorBatchCursor;
            // Pixels are read for the pass's rows only: batched transforms upstream compute just those.
            if (_tensors is not null && data.Split is { } split) _tensors.ReadOnlyWhere(split, data.KeepWhen);
            _featureGetter = _cursor.GetGetter<VBuffer<float>>(data.Features);
            _labelGetter = _cursor.GetGetter<uint>(data.Label);
            _splitGetter = data.Split is null ? null : _cursor.GetGetter<bool>(data.Split.Value);
        }

        /// <summary>The current row's zero-based label.</summary>
        public long Label { get; private set; }

        /// <summary>Moves through the kept rows of the pass (split filter applied, label validated).</summary>
        public IEnumerable<long> Rows(CancellationToken token)
        {
            bool flag = false;
            uint key = 0;
            while (_cursor.MoveNext())
            {
                token.ThrowIfCancellationRequested();
                _progress(++_row);
                if (_splitGetter is not null)
                {
                    _splitGetter(ref flag);
                    if (flag != _data.KeepWhen) continue;
                }
                _labelGetter(ref key);
                if (key == 0 || key > _data.ClassCount)
                    throw new InvalidDataException($"label column '{_data.Label.Name}' has a missing or unknown value (key {key}) " +
                        $"at row {_row}; every training and validation row needs one of the {_data.ClassCount} classes.");
                Label = key - 1;
                yield return _row;
            }
        }

        /// <summary>The current row as a row of the upstream batch tensor, when the cursor serves one.</summary>
        public bool TryGetTensorRow([NotNullWhen(true)] out torch.Tensor? batch, out int index)
        {
            if (_tensors is null || !_tensors.TryGetBatchTensor(_data.Features, out batch, out index))
            {
                batch = null;
                index = -1;
                return false;
            }
            if (batch.NumberOfElements / batch.shape[0] != _data.RowSize)
                throw new InvalidDataException($"feature column '{_data.Features.Name}' holds {batch.NumberOfElements / batch.shape[0]} values at row {_row}; expected {_data.RowSize}.");
            return true;
        }

        /// <summary>A copy of the current row's pixels with its own storage (rows kept beyond the cursor's next move).</summary>
        public VBuffer<float> CopyPixels()
        {
            var copy = default(VBuffer<float>);
            ReadPixels().CopyTo(ref copy);
            return copy;
        }

        /// <summary>The current row's pixels through the getter, dense (valid until the next row).</summary>
        public VBuffer<float> ReadPixels()
        {
            _featureGetter(ref _pixels);
            if (_pixels.Length != _data.RowSize)
                throw new InvalidDataException($"feature column '{_data.Features.Name}' holds {_pixels.Length} values at row {_row}; expected {_data.RowSize}.");
            if (!_pixels.IsDense)
            {
                var dense = default(VBuffer<float>);
                _pixels.CopyToDense(ref dense);
                _pixels = dense;
            }
            return _pixels;
        }

        public void Dispose() => _cursor.Dispose();
    }

    /// <summary>A bounded shuffle: keeps <paramref name="size"/> rows and emits a random one as each new row arrives.</summary>
    private static IEnumerable<T> ShufflePool<T>(IEnumerable<T> rows, int size, Random random)
    {
        var pool = new List<T>(size);
        foreach (var row in rows)
        {
            if (pool.Count < size) { pool.Add(row); continue; }
            int j = random.Next(size);
            yield return pool[j];
            pool[j] = row;
        }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pool));
        foreach (var row in pool) yield return row;
    }
}
