using static TorchSharp.torch;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// A module of this library that writes its own eval-mode ONNX nodes. TorchSharp's stock modules cannot implement it;
/// <see cref="OnnxNetworkContext"/> writes those.
/// </summary>
internal interface IOnnxExportable
{
    /// <summary>
    /// Appends this module's nodes to the graph of <paramref name="context"/>, reading <paramref name="input"/>, and
    /// returns its output. <paramref name="path"/> names the module in the network (for value names and errors).
    /// </summary>
    OnnxValue WriteOnnx(OnnxNetworkContext context, OnnxValue input, string path);
}
