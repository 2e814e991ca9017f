using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms.Batching;

/// <summary>Spans over the memory of contiguous CPU tensors (no copy).</summary>
internal static class TensorSpans
{
    /// <summary>The values of row <paramref name="row"/> (along dimension 0) of a contiguous CPU tensor of <typeparamref name="T"/>.</summary>
    public static ReadOnlySpan<T> Row<T>(Tensor batch, int row) where T : unmanaged
    {
        if (!batch.is_contiguous() || batch.device_type != DeviceType.CPU)
            throw new InvalidOperationException("Row values are read from contiguous CPU tensors only.");
        if (batch.dtype != ScalarTypeOf<T>())
            throw new InvalidOperationException($"A {batch.dtype} tensor cannot be read as {typeof(T).Name}.");
        int length = checked((int)(batch.NumberOfElements / batch.shape[0]));
        return MemoryMarshal.Cast<byte, T>(batch.bytes).Slice(row * length, length);
    }

    /// <summary>The tensor element type of <typeparamref name="T"/> (Byte or Single).</summary>
    public static ScalarType ScalarTypeOf<T>() =>
        typeof(T) == typeof(float) ? ScalarType.Float32
        : typeof(T) == typeof(byte) ? ScalarType.Byte
        : throw new NotSupportedException($"Image tensors hold Byte or Single values, not {typeof(T).Name}.");
}
