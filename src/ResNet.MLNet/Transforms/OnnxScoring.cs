using Microsoft.ML;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Builds the stock, savable chain that applies a generated ONNX graph to one column and writes the result to
/// <c>outputColumnName</c> (which may equal the input): <c>ApplyOnnxModel</c> into a temporary column, copy it to the
/// output name, drop the temporary.
/// </summary>
internal static class OnnxScoring
{
    public static Onnx.OnnxFileTransformer Build(IDataView input, string outputColumnName, string inputColumnName, string onnxOutputName, byte[] model)
    {
        var ml = new MLContext();
        return Onnx.OnnxFileTransformer.Fit(model, file => ml.Transforms.ApplyOnnxModel(onnxOutputName, inputColumnName, file)
            .Append(ml.Transforms.CopyColumns(outputColumnName, onnxOutputName))
            .Append(ml.Transforms.DropColumns(onnxOutputName)), input);
    }

    /// <summary>A temporary column name for the ONNX output, not used by <paramref name="schema"/>.</summary>
    public static string TemporaryName(DataViewSchema schema, string outputColumnName, string transform)
    {
        string name = $"{outputColumnName}.{transform}";
        for (int i = 1; schema.GetColumnOrNull(name) is not null; i++) name = $"{outputColumnName}.{transform}{i}";
        return name;
    }
}
