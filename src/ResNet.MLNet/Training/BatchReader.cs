using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace ResNet.MLNet.Training;

/// <summary>
/// Reads one pass over <see cref="TrainingData"/> as <see cref="ImageBatch"/>es on a background thread, at most
/// <c>prefetch</c> batches ahead, so decoding/augmentation overlaps the model's compute. Training passes ask for a
/// cursor with a <see cref="Random"/> (upstream augmentation and shuffling key on it); when the view cannot shuffle,
/// rows go through a bounded shuffle pool instead. The consumer owns (and disposes) every batch it takes.
/// </summary>
internal sealed class BatchReader : IDisposable
{
    /// <summary>Upper bound of the shuffle pool's memory when the view cannot shuffle itself.</summary>
    private const long ShufflePoolBytes = 256L << 20;

    private readonly BlockingCollection<ImageBatch> _queue;
    private readonly CancellationTokenSource _stop;
    private readonly Task _producer;
    private Exception? _failure;

    public BatchReader(TrainingData data, int batchSize, Random? random, bool dropLast, string passName, CancellationToken cancellation, int prefetch = 2)
    {
        _queue = new BlockingCollection<ImageBatch>(Math.Max(1, prefetch));
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = _stop.Token;
        _producer = Task.Factory.StartNew(() =>
        {
            long row = 0;
            try
            {
                foreach (var batch in Read(data, batchSize, random, dropLast, token, r => row = r))
                {
                    try { _queue.Add(batch, token); }
                    catch { batch.Dispose(); throw; }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { }
            catch (Exception ex)
            {
                _failure = new InvalidOperationException(
                    $"Reading {passName} batches from {data.Description} failed near row {row} of the pass: {ex.Message}", ex);
            }
            finally { _queue.CompleteAdding(); }
        }, token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Takes the batches in order; throws the producer's failure (with context) if reading failed.</summary>
    public IEnumerable<ImageBatch> Batches()
    {
        foreach (var batch in _queue.GetConsumingEnumerable())
            yield return batch;
        if (_failure is not null) throw _failure;
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _producer.Wait(); } catch (AggregateException) { }
        while (_queue.TryTake(out var left)) left.Dispose();
        _queue.Dispose();
        _stop.Dispose();
    }

    /// <summary>Rows held by the shuffle pool used when the view cannot shuffle itself.</summary>
    public static int ShufflePoolRows(TrainingData data, int batchSize) =>
        (int)Math.Clamp(ShufflePoolBytes / (4L * data.RowSize), batchSize, 100_000);

    private static IEnumerable<ImageBatch> Read(TrainingData data, int batchSize, Random? random, bool dropLast,
        CancellationToken token, Action<long> progress)
    {
        int rowSize = data.RowSize;
        var rows = ReadRows(data, random, token, progress);
        if (random is not null && !data.View.CanShuffle)
            rows = ShufflePool(rows.Select(r => (Own(r.Pixels), r.Label)), ShufflePoolRows(data, batchSize), random);
        float[]? features = null;
        long[]? labels = null;
        int n = 0;
        foreach (var (pixels, label) in rows)
        {
            features ??= new float[(long)batchSize * rowSize];
            labels ??= new long[batchSize];
            pixels.CopyTo(features.AsSpan(n * rowSize, rowSize));
            labels[n++] = label;
            if (n == batchSize)
            {
                yield return ToBatch(features, labels, n, data.ImageShape);
                features = null;
                labels = null;
                n = 0;
            }
        }
        if (n > 0 && !dropLast)
            yield return ToBatch(features!, labels!, n, data.ImageShape);
    }

    private static ImageBatch ToBatch(float[] features, long[] labels, int n, int[] shape)
    {
        if (n < labels.Length)
        {
            Array.Resize(ref features, n * shape[0] * shape[1] * shape[2]);
            Array.Resize(ref labels, n);
        }
        // torch.tensor over a managed array pins it and shares its memory: one copy per row, none per batch.
        var x = torch.tensor(features, [n, shape[0], shape[1], shape[2]]);
        var y = torch.tensor(labels, [n]);
        return new ImageBatch(x, y);
    }

    /// <summary>A copy of <paramref name="row"/> with its own storage (rows kept beyond the cursor's next move).</summary>
    private static VBuffer<float> Own(VBuffer<float> row)
    {
        var copy = default(VBuffer<float>);
        row.CopyTo(ref copy);
        return copy;
    }

    /// <summary>
    /// Rows of the pass as (pixels, zero-based label). The pixels reuse one buffer, valid until the next row is read: the
    /// batch copies them straight into its features (no per-row array on the direct path).
    /// </summary>
    private static IEnumerable<(VBuffer<float> Pixels, long Label)> ReadRows(TrainingData data, Random? random, CancellationToken token, Action<long> progress)
    {
        var columns = new List<DataViewSchema.Column> { data.Features, data.Label };
        if (data.Split is not null) columns.Add(data.Split.Value);
        using var cursor = data.View.GetRowCursor(columns, random);
        var featureGetter = cursor.GetGetter<VBuffer<float>>(data.Features);
        var labelGetter = cursor.GetGetter<uint>(data.Label);
        var splitGetter = data.Split is null ? null : cursor.GetGetter<bool>(data.Split.Value);
        var buffer = default(VBuffer<float>);
        uint key = 0;
        bool flag = false;
        long row = 0;
        int rowSize = data.RowSize;
        while (cursor.MoveNext())
        {
            token.ThrowIfCancellationRequested();
            progress(row++);
            if (splitGetter is not null)
            {
                splitGetter(ref flag);
                if (flag != data.KeepWhen) continue;
            }
            labelGetter(ref key);
            if (key == 0 || key > data.ClassCount)
                throw new InvalidDataException($"label column '{data.Label.Name}' has a missing or unknown value (key {key}) " +
                    $"at row {row - 1}; every training and validation row needs one of the {data.ClassCount} classes.");
            featureGetter(ref buffer);
            if (buffer.Length != rowSize)
                throw new InvalidDataException($"feature column '{data.Features.Name}' holds {buffer.Length} values at row {row - 1}; expected {rowSize}.");
            yield return (buffer, key - 1);
        }
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
