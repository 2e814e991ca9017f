using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// Slots of an output column of Single vectors that a batch computation fills with ONE tensor <c>[count, …]</c>
/// (<see cref="RowBatch.SetOutput"/>). Row getters copy their row out of the tensor; batch consumers take the tensor
/// itself (<see cref="ITensorBatchCursor"/>). The buffer owns the tensor until the next batch replaces it.
/// </summary>
internal sealed class TensorOutputBuffer(string name, int rowLength) : ColumnBuffer
{
    /// <summary>The current batch's tensor, or null before the first batch.</summary>
    public Tensor? Batch { get; private set; }

    /// <summary>Takes ownership of <paramref name="values"/> as the batch of <paramref name="count"/> rows.</summary>
    public void Set(Tensor values, int count)
    {
        if (values.dtype != ScalarType.Float32 || values.device_type != DeviceType.CPU || values.dim() == 0
            || values.shape[0] != count || values.NumberOfElements != (long)count * rowLength)
            throw new InvalidOperationException(
                $"Column '{name}' expects a Float32 CPU tensor of {count} rows × {rowLength} values; got {values.dtype} [{string.Join(", ", values.shape)}] on {values.device_type}.");
        var owned = values.is_contiguous() ? values.alias() : values.contiguous();
        owned.DetachFromDisposeScope();
        Batch?.Dispose();
        Batch = owned;
    }

    public override void Bind(DataViewRow source, DataViewSchema.Column column) =>
        throw new InvalidOperationException($"Column '{name}' is computed; it is not read from the source.");

    public override void Fill(int slot) =>
        throw new InvalidOperationException($"Column '{name}' is computed; it is not read from the source.");

    public override Delegate CreateGetter(Func<int> currentSlot)
    {
        ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
        {
            var row = TensorSpans.Row<float>(Batch ?? throw new InvalidOperationException($"Column '{name}' has no batch yet."), currentSlot());
            var editor = VBufferEditor.Create(ref value, row.Length);
            row.CopyTo(editor.Values);
            value = editor.Commit();
        };
        return getter;
    }

    public override void Release()
    {
        Batch?.Dispose();
        Batch = null;
    }
}
