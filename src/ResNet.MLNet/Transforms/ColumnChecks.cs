using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace ResNet.MLNet.Transforms;

/// <summary>Input-column validation with messages that name the transform, the column and what it needs.</summary>
internal static class ColumnChecks
{
    public static DataViewSchema.Column Find(DataViewSchema schema, string transform, string column)
    {
        var found = schema.GetColumnOrNull(column);
        if (found is null)
            throw new ArgumentOutOfRangeException(nameof(column),
                $"{transform}: input column '{column}' not found. Available columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        return found.Value;
    }

    /// <summary>A planar image tensor column: a vector of Byte or Single with dimensions exactly [3, H, W].</summary>
    public static (bool IsByte, int Height, int Width) PlanarImage(DataViewSchema schema, string transform, string column)
    {
        var found = Find(schema, transform, column);
        if (found.Type is VectorDataViewType vector
            && (vector.ItemType == NumberDataViewType.Byte || vector.ItemType == NumberDataViewType.Single)
            && vector.Dimensions.Length == 3 && vector.Dimensions[0] == 3 && vector.Dimensions[1] > 0 && vector.Dimensions[2] > 0)
            return (vector.ItemType == NumberDataViewType.Byte, vector.Dimensions[1], vector.Dimensions[2]);
        throw new ArgumentOutOfRangeException(nameof(column),
            $"{transform}: column '{column}' has type {Describe(found.Type)}; expected planar RGB pixels, a vector of Byte " +
            "(0..255) or Single with dimensions [3, H, W] (as ImagesToTensor outputs).");
    }

    /// <summary>An image column (as LoadImageFiles/PresizeImages output).</summary>
    public static ImageDataViewType Image(DataViewSchema schema, string transform, string column)
    {
        var found = Find(schema, transform, column);
        return found.Type as ImageDataViewType ?? throw new ArgumentOutOfRangeException(nameof(column),
            $"{transform}: column '{column}' has type {Describe(found.Type)}; expected an image column (from LoadImageFiles).");
    }

    public static string Describe(DataViewType type) => type switch
    {
        VectorDataViewType v when v.Dimensions.Length > 1 => $"Vector<{v.ItemType}, {string.Join(", ", v.Dimensions)}>",
        VectorDataViewType v => v.Size > 0 ? $"Vector<{v.ItemType}, {v.Size}>" : $"Vector<{v.ItemType}>",
        _ => type.ToString() ?? type.GetType().Name,
    };

    /// <summary>Checks the estimator-time shape of an input column; throws naming it when absent or of the wrong kind.</summary>
    public static SchemaShape.Column FindShape(SchemaShape shape, string transform, string column)
    {
        foreach (var found in shape)
            if (found.Name == column) return found;
        throw new ArgumentOutOfRangeException(nameof(column),
            $"{transform}: input column '{column}' not found. Available columns: {string.Join(", ", shape.Select(c => c.Name))}.");
    }

    /// <summary>
    /// Estimator-time check of a planar image column (a Byte or Single vector) and the output shape with a Single
    /// vector column <paramref name="output"/> (derived through a stock estimator, so annotations of other columns stay).
    /// </summary>
    public static SchemaShape PlanarShape(SchemaShape shape, string transform, string input, string output)
    {
        var column = FindShape(shape, transform, input);
        if (column.Kind != SchemaShape.Column.VectorKind.Vector
            || (column.ItemType != NumberDataViewType.Byte && column.ItemType != NumberDataViewType.Single))
            throw new ArgumentOutOfRangeException(nameof(input),
                $"{transform}: column '{input}' has type {column.ItemType} ({column.Kind}); expected planar RGB pixels, a vector of Byte or Single with dimensions [3, H, W].");
        return new MLContext().Transforms.Conversion.ConvertType(output, input, DataKind.Single).GetOutputSchema(shape);
    }

    /// <summary>The dense values of <paramref name="vector"/> (no copy when it is already dense).</summary>
    public static ReadOnlySpan<T> Dense<T>(in VBuffer<T> vector) =>
        vector.IsDense ? vector.GetValues() : vector.DenseValues().ToArray();
}
