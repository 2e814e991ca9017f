using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// The per-pixel arithmetic of <see cref="BatchAugmenter"/> written as fused CPU passes: the projective sampling grid
/// (one pass writing <c>[B, H, W, 2]</c>, instead of a matrix product, a division and a transposing copy) and fastai's
/// logit-space lighting with the input scale folded in (one vectorised pass over cache-sized chunks, instead of six
/// tensor-wide passes). Both split the batch's images over the cores.
/// </summary>
internal static class AugmentationKernels
{
    /// <summary>Values per chunk of the lighting pass: small enough to stay in the L1 cache between its steps.</summary>
    private const int Chunk = 2048;

    /// <summary>Lower clamp of logit's input (fastai's eps); the upper is 1 − eps.</summary>
    public const float LogitEpsilon = 1e-7f;

    /// <summary>
    /// The sampling grid <c>[B, outH, outW, 2]</c>: for each image's row-major 3×3 matrix M and each output pixel with
    /// grid coordinates (u, v), (x, y) = ((M·(u, v, 1))₀, (M·(u, v, 1))₁) / (M·(u, v, 1))₂.
    /// </summary>
    public static Tensor SamplingGrid(IReadOnlyList<double[]> matrices, float[] columnCoordinates, float[] rowCoordinates)
    {
        int b = matrices.Count, height = rowCoordinates.Length, width = columnCoordinates.Length;
        var grid = empty([b, height, width, 2], ScalarType.Float32);
        nint data = Address(grid);
        Parallel.For(0, b, i =>
        {
            var m = matrices[i];
            var output = Floats(data + (nint)i * height * width * 2 * sizeof(float), height * width * 2);
            for (int y = 0, k = 0; y < height; y++)
            {
                double v = rowCoordinates[y];
                double x0 = m[1] * v + m[2], y0 = m[4] * v + m[5], z0 = m[7] * v + m[8];
                for (int x = 0; x < width; x++, k += 2)
                {
                    double u = columnCoordinates[x];
                    double inverseZ = 1 / (m[6] * u + z0);
                    output[k] = (float)((m[0] * u + x0) * inverseZ);
                    output[k + 1] = (float)((m[3] * u + y0) * inverseZ);
                }
            }
        });
        return grid;
    }

    /// <summary>
    /// In place on a contiguous CPU float batch <c>[B, …]</c>: x ← clamp(x · <paramref name="inputScale"/>, eps, 1 − eps), then
    /// fastai's lighting sigmoid(c · (logit(x) + logit(b))) per image, computed as sigmoid(−c · ln((1 − x) / x) + c · logit(b)).
    /// </summary>
    public static void Lighting(Tensor images, IReadOnlyList<(double Brightness, double Contrast)> lighting, float inputScale)
    {
        int b = (int)images.shape[0];
        if (lighting.Count != b) throw new ArgumentException($"Expected lighting for {b} images, got {lighting.Count}.", nameof(lighting));
        if (!images.is_contiguous() || images.device_type != DeviceType.CPU || images.dtype != ScalarType.Float32)
            throw new ArgumentException("The fused lighting pass works on contiguous CPU float tensors.", nameof(images));
        int perImage = checked((int)(images.NumberOfElements / b));
        nint data = Address(images);
        Parallel.For(0, b, () => new float[Chunk], (i, _, scratch) =>
        {
            var (brightness, contrast) = lighting[i];
            float c = (float)contrast, shift = (float)(contrast * Math.Log(brightness / (1 - brightness)));
            var pixels = Floats(data + (nint)i * perImage * sizeof(float), perImage);
            for (int start = 0; start < perImage; start += Chunk)
            {
                var x = pixels.Slice(start, Math.Min(Chunk, perImage - start));
                var r = scratch.AsSpan(0, x.Length);
                TensorPrimitives.Multiply(x, inputScale, x);
                TensorPrimitives.Max(x, LogitEpsilon, x);
                TensorPrimitives.Min(x, 1 - LogitEpsilon, x);
                TensorPrimitives.Negate(x, r);
                TensorPrimitives.Add(r, 1f, r);                  // 1 − x
                TensorPrimitives.Divide(r, x, r);                // (1 − x) / x
                TensorPrimitives.Log(r, r);                      // −logit(x)
                TensorPrimitives.Multiply(r, -c, r);
                TensorPrimitives.Add(r, shift, r);               // c · (logit(x) + logit(b))
                TensorPrimitives.Sigmoid(r, x);
            }
            return scratch;
        }, _ => { });
    }

    private static unsafe Span<float> Floats(nint address, int length) => new((void*)address, length);

    /// <summary>The address of a CPU tensor's data (native memory: it does not move).</summary>
    private static unsafe nint Address(Tensor tensor) =>
        (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
}
