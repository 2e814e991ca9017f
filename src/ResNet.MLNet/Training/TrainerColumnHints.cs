using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Training;

/// <summary>
/// The sentence a missing-column error of the trainer ends with: the columns of the type the option needs and the
/// setting that would use one of them.
/// </summary>
internal static class TrainerColumnHints
{
    /// <summary>Image tensor columns (known-size Single vectors, [3, H, W] where the schema says so) for FeatureColumnName.</summary>
    public static string Features(DataViewSchema schema) => Hint("Options.FeatureColumnName", "image tensor columns (Vector<Single, 3, H, W>)",
        schema.Where(c => !c.IsHidden && c.Type is VectorDataViewType { IsKnownSize: true, ItemType: NumberDataViewType n, Dimensions.Length: 3 } v
            && n == NumberDataViewType.Single && v.Dimensions[0] == 3).Select(c => c.Name),
        "make one with ImageClassificationPreprocessing, or ImagesToTensor → NormalizeImages", alwaysOffer: false);

    /// <summary>Known-size Single vector columns for FeatureColumnName (an estimator's schema has no dimensions).</summary>
    public static string Features(SchemaShape shape) => Hint("Options.FeatureColumnName", "image tensor columns (Vector<Single>)",
        shape.Where(c => c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == NumberDataViewType.Single).Select(c => c.Name),
        "make one with ImageClassificationPreprocessing, or ImagesToTensor → NormalizeImages", alwaysOffer: false);

    /// <summary>Key-typed columns for LabelColumnName.</summary>
    public static string Labels(DataViewSchema schema) => Hint("Options.LabelColumnName", "key columns",
        schema.Where(c => !c.IsHidden && c.Type is KeyDataViewType).Select(c => c.Name), "make one with MapValueToKey", alwaysOffer: false);

    /// <summary>Key-typed columns for LabelColumnName.</summary>
    public static string Labels(SchemaShape shape) => Hint("Options.LabelColumnName", "key columns",
        shape.Where(c => c.IsKey && c.Kind == SchemaShape.Column.VectorKind.Scalar).Select(c => c.Name), "make one with MapValueToKey", alwaysOffer: false);

    /// <summary>Boolean columns for ValidationColumnName.</summary>
    public static string Splitters(DataViewSchema schema) => Splitters(
        schema.Where(c => !c.IsHidden && c.Type == BooleanDataViewType.Instance).Select(c => c.Name));

    /// <summary>Boolean columns for ValidationColumnName.</summary>
    public static string Splitters(SchemaShape shape) => Splitters(
        shape.Where(c => c.ItemType == BooleanDataViewType.Instance && c.Kind == SchemaShape.Column.VectorKind.Scalar).Select(c => c.Name));

    private static string Splitters(IEnumerable<string> names) => Hint("Options.ValidationColumnName", "Boolean columns", names,
        "pass Options.ValidationSet, or set ValidationColumnName = null to train on every row without validation", alwaysOffer: true);

    private static string Hint(string option, string kind, IEnumerable<string> names, string otherwise, bool alwaysOffer)
    {
        var found = names.Distinct().ToArray();
        return found.Length == 0
            ? $"The input has no {kind}: {otherwise}."
            : $"Its {kind}: {string.Join(", ", found)}; set {option} = \"{found[0]}\"" +
              (alwaysOffer ? $", or {otherwise}." : ".");
    }
}
