namespace ResNet.MLNet.Onnx;

/// <summary>Options of <see cref="OnnxExporter"/>: input shape and names, optional normalisation prefix and softmax suffix.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Name of the graph input (a float tensor [N, C, H, W]). Default <c>"input"</c>.</summary>
    public string InputName { get; set; } = "input";

    /// <summary>Name of the graph output ([N, classes] logits, or probabilities with <see cref="AddSoftmax"/>). Default <c>"output"</c>.</summary>
    public string OutputName { get; set; } = "output";

    /// <summary>Number of input channels. Default 3 (RGB).</summary>
    public int Channels { get; set; } = 3;

    /// <summary>Fixed image height, or null for a symbolic height <c>"H"</c> (any size the network accepts).</summary>
    public int? ImageHeight { get; set; }

    /// <summary>Fixed image width, or null for a symbolic width <c>"W"</c>.</summary>
    public int? ImageWidth { get; set; }

    /// <summary>Fixed batch size, or null (default) for a symbolic batch <c>"N"</c>.</summary>
    public int? BatchSize { get; set; }

    /// <summary>
    /// Multiplies the input before normalisation, e.g. <c>1/255f</c> when the input holds 0..255 pixel values and
    /// <see cref="NormalizeMean"/>/<see cref="NormalizeStd"/> are on the 0..1 scale. Default 1 (no scaling).
    /// </summary>
    public float InputScale { get; set; } = 1f;

    /// <summary>Per-channel means subtracted from the (scaled) input, or null for no normalisation prefix.</summary>
    public IReadOnlyList<float>? NormalizeMean { get; set; }

    /// <summary>Per-channel standard deviations the input is divided by; required with <see cref="NormalizeMean"/>.</summary>
    public IReadOnlyList<float>? NormalizeStd { get; set; }

    /// <summary>Appends a Softmax over the classes, so the output holds probabilities instead of logits.</summary>
    public bool AddSoftmax { get; set; }

    /// <summary>
    /// Folds each BatchNorm that directly follows a convolution into that convolution's weights and bias (exact in
    /// eval mode, fewer nodes). Default true; false emits BatchNormalization nodes.
    /// </summary>
    public bool FoldBatchNorm { get; set; } = true;

    /// <summary>The ai.onnx operator set to target (13–21). Default <see cref="OnnxGraphBuilder.DefaultOpset"/> (17).</summary>
    public long Opset { get; set; } = OnnxGraphBuilder.DefaultOpset;
}
