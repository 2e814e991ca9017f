using ResNet.MLNet.Transforms.Batching;
using TorchSharp;

namespace ResNet.MLNet.Training;

/// <summary>
/// Assembles <see cref="ImageBatch"/>es row by row, from rows of upstream batch tensors (a view without copying when the
/// rows are consecutive rows of one tensor) or from pixel vectors (copied once into the batch's features). One batch holds
/// rows of one kind.
/// </summary>
internal sealed class BatchAssembler(TrainingData data, int batchSize) : IDisposable
{
    private readonly TensorRows _tensorRows = new();
    private float[]? _features;
    private long[] _labels = new long[batchSize];

    /// <summary>Rows added since the last <see cref="Take"/>.</summary>
    public int Count { get; private set; }

    /// <summary>True when the batch holds <c>batchSize</c> rows.</summary>
    public bool IsFull => Count == batchSize;

    /// <summary>Adds row <paramref name="row"/> of an upstream batch tensor.</summary>
    public void AddTensorRow(torch.Tensor batch, int row, long label)
    {
        if (_features is not null) throw Mixed();
        _tensorRows.Add(batch, row);
        _labels[Count++] = label;
    }

    /// <summary>Adds a row's pixels (exactly <c>RowSize</c> values).</summary>
    public void AddPixels(ReadOnlySpan<float> pixels, long label)
    {
        if (_tensorRows.Count > 0) throw Mixed();
        _features ??= new float[(long)batchSize * data.RowSize];
        pixels.CopyTo(_features.AsSpan(Count * data.RowSize, data.RowSize));
        _labels[Count++] = label;
    }

    /// <summary>The rows added so far as a batch the caller owns; starts a new batch.</summary>
    public ImageBatch Take()
    {
        int n = Count;
        if (n == 0) throw new InvalidOperationException("The batch holds no rows.");
        var labels = _labels;
        if (n < labels.Length) Array.Resize(ref labels, n);
        var y = torch.tensor(labels, [n]);
        torch.Tensor x;
        if (_tensorRows.Count > 0)
        {
            x = _tensorRows.Build();
            _tensorRows.Clear();
        }
        else
        {
            var features = _features!;
            int[] shape = data.ImageShape;
            if (n < batchSize) Array.Resize(ref features, n * data.RowSize);
            // torch.tensor over a managed array pins it and shares its memory: one copy per row, none per batch.
            x = torch.tensor(features, [n, shape[0], shape[1], shape[2]]);
            _features = null;
        }

        _labels = new long[batchSize];
        Count = 0;
        return new ImageBatch(x, y);
    }

    private InvalidOperationException Mixed() =>
        new($"Column '{data.Features.Name}' switched between tensor and row values within a batch.");

    public void Dispose() => _tensorRows.Dispose();
}
