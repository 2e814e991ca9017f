using System.Diagnostics.CodeAnalysis;
using Microsoft.ML;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// A cursor that computes an image column a whole batch at a time as one tensor. Batch consumers (the next batched
/// transform, the trainer's batch reader) take rows of that tensor instead of copying every row's values through a
/// getter, so a training pass's images stay tensors from augmentation to the model.
/// </summary>
internal interface ITensorBatchCursor
{
    /// <summary>
    /// When <paramref name="column"/> is computed as a batch tensor: that tensor (<c>[n, …]</c>, contiguous, on the
    /// CPU) and the current row's index in it. The cursor owns the tensor and disposes it when it moves past the
    /// batch: a consumer that needs it longer keeps an alias (<see cref="TensorRows"/> does). Treat it as read-only.
    /// </summary>
    bool TryGetBatchTensor(DataViewSchema.Column column, [NotNullWhen(true)] out Tensor? batch, out int row);

    /// <summary>
    /// The consumer's promise, made before the first <c>MoveNext</c>: it reads computed columns only on rows whose Boolean
    /// <paramref name="column"/> equals <paramref name="value"/> (the trainer reads pixels of training rows only). A batched
    /// view whose computation reads and writes tensors only then computes just those rows — its random draws are still
    /// made for every row, so the kept rows' values do not change — and passes the promise on to its source. Reading a
    /// computed column on another row then throws.
    /// </summary>
    void ReadOnlyWhere(DataViewSchema.Column column, bool value);
}
