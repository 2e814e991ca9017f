using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>One batch read from an IDataView: features <c>[N,3,H,W]</c> (float32) and zero-based labels <c>[N]</c> (int64).</summary>
internal sealed class ImageBatch(Tensor features, Tensor labels) : IDisposable
{
    public Tensor Features { get; } = features;
    public Tensor Labels { get; } = labels;
    public int Count => (int)Labels.shape[0];

    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
    }
}
