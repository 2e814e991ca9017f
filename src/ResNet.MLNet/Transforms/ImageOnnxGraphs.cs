using ResNet.MLNet.Onnx;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// The small ONNX graphs that carry the image tensor maths into a saved model (run by ML.NET's
/// <c>ApplyOnnxModel</c>). Inputs and outputs are single planar images [3, H, W].
/// </summary>
internal static class ImageOnnxGraphs
{
    /// <summary>
    /// The validation transform of <c>AugmentImages</c>: to float (bytes / 255), then ONNX <c>GridSample</c> (the same
    /// operation as the training path's <c>grid_sample</c>) at the fixed <paramref name="grid"/> the training path computes
    /// from the centre-square crop's matrix (<see cref="BatchAugmenter.ValidationGrid"/>), so both passes crop by one
    /// definition.
    /// </summary>
    /// <param name="inputName">The input column: planar [3, H, W] bytes or floats.</param>
    /// <param name="outputName">The output column: [3, outH, outW] floats in 0..1.</param>
    /// <param name="isByte">Whether the input holds bytes (0..255).</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="grid">The sampling grid [outH, outW, 2] in grid_sample's normalised coordinates, row-major.</param>
    /// <param name="outputHeight">outH.</param>
    /// <param name="outputWidth">outW.</param>
    /// <param name="options">Interpolation, padding and align-corners, as the training path samples.</param>
    public static byte[] ValidationCrop(string inputName, string outputName, bool isByte, int height, int width, float[] grid,
        int outputHeight, int outputWidth, AugmentOptions options)
    {
        if (grid.Length != outputHeight * outputWidth * 2)
            throw new ArgumentException($"Expected a [{outputHeight}, {outputWidth}, 2] grid; got {grid.Length} values.", nameof(grid));
        var g = new OnnxGraphBuilder("augment_images_validation");
        string x = ToUnitFloat(g, inputName, isByte, height, width);
        string batchAxis = g.AddInitializer(g.UniqueName("batch_axis"), [0L], 1);
        string batched = g.AddNode("Unsqueeze", [x, batchAxis]);
        string sampled = g.AddNode("GridSample", [batched, g.AddInitializer(g.UniqueName("validation_grid"), grid, 1, outputHeight, outputWidth, 2)],
            OnnxAttribute.Int("align_corners", options.AlignCorners ? 1 : 0),
            OnnxAttribute.String("mode", options.Mode == InterpolationMode.Nearest ? "nearest" : "bilinear"),
            OnnxAttribute.String("padding_mode", options.PadMode switch
            {
                PadMode.Zeros => "zeros",
                PadMode.Border => "border",
                _ => "reflection",
            }));
        g.AddNode("Squeeze", [sampled, batchAxis], [outputName]);
        g.AddOutput(outputName, OnnxElementType.Float, 3, outputHeight, outputWidth);
        return g.ToModelBytes();
    }

    /// <summary><c>NormalizeImages</c>: (x − mean) / std per channel, on 0..1 values (bytes are divided by 255 first).</summary>
    public static byte[] Normalize(string inputName, string outputName, bool isByte, int height, int width, ImageStats stats)
    {
        var g = new OnnxGraphBuilder("normalize_images");
        string x = ToUnitFloat(g, inputName, isByte, height, width);
        AddNormalization(g, x, stats.Mean, stats.Std, [3, 1, 1], outputName);
        g.AddOutput(outputName, OnnxElementType.Float, 3, height, width);
        return g.ToModelBytes();
    }

    /// <summary>
    /// Appends (x − mean) / std per channel to <paramref name="g"/> — the one definition of normalisation in ONNX, used by
    /// <c>NormalizeImages</c>' saved form and by the standalone network export — and returns the result's name.
    /// </summary>
    /// <param name="g">The graph.</param>
    /// <param name="x">The input value.</param>
    /// <param name="mean">One mean per channel.</param>
    /// <param name="std">One standard deviation per channel (finite, &gt; 0).</param>
    /// <param name="statisticsShape">The statistics' shape, broadcasting over <paramref name="x"/>'s channel axis: [C, 1, 1] or [1, C, 1, 1].</param>
    /// <param name="outputName">The result's name; generated when null.</param>
    internal static string AddNormalization(OnnxGraphBuilder g, string x, IReadOnlyList<float> mean, IReadOnlyList<float> std,
        long[] statisticsShape, string? outputName = null)
    {
        long channels = statisticsShape.Max();
        if (mean.Count != channels || std.Count != channels)
            throw new ArgumentException($"Normalisation needs {channels} means and standard deviations; got {mean.Count} and {std.Count}.");
        if (std.Any(s => !(s > 0) || !float.IsFinite(s)))
            throw new ArgumentException("Normalisation standard deviations must be finite and > 0.");
        string centred = g.AddNode("Sub", [x, g.AddInitializer(g.UniqueName("normalize_mean"), mean.ToArray(), statisticsShape)]);
        string scale = g.AddInitializer(g.UniqueName("normalize_std"), std.ToArray(), statisticsShape);
        return outputName is null ? g.AddNode("Div", [centred, scale]) : g.AddNode("Div", [centred, scale], [outputName])[0];
    }

    private static string ToUnitFloat(OnnxGraphBuilder g, string inputName, bool isByte, int height, int width)
    {
        g.AddInput(inputName, isByte ? OnnxElementType.UInt8 : OnnxElementType.Float, 3, height, width);
        if (!isByte) return inputName;
        string asFloat = g.AddNode("Cast", [inputName], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        return g.AddNode("Div", [asFloat, g.AddInitializer(g.UniqueName("byte_scale"), [255f])]);
    }
}
