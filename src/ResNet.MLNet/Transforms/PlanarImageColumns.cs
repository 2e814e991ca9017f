using Microsoft.ML;

namespace ResNet.MLNet.Transforms;

/// <summary>The column pair of a <see cref="PlanarImageTransformer"/> and its input's element type and size.</summary>
internal sealed record PlanarImageColumns(string Output, string Input, bool IsByte, int Height, int Width)
{
    /// <summary>Reads the input column's shape from <paramref name="schema"/>; a clear error names the transform when it is not planar RGB.</summary>
    public static PlanarImageColumns Of(DataViewSchema schema, string transform, string output, string input)
    {
        var (isByte, height, width) = ColumnChecks.PlanarImage(schema, transform, input);
        return new PlanarImageColumns(output, input, isByte, height, width);
    }
}
