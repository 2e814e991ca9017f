using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Training;

/// <summary>
/// The rows of an IDataView that one pass reads: the feature and label columns, optionally filtered by a boolean
/// splitter column (training rows have it false, validation rows true). Validated once, with errors that name
/// the column and option.
/// </summary>
internal sealed class TrainingData
{
    private TrainingData(IDataView view, DataViewSchema.Column features, DataViewSchema.Column label,
        DataViewSchema.Column? split, bool keepWhen, int[] imageShape, int classCount, string description)
    {
        View = view;
        Features = features;
        Label = label;
        Split = split;
        KeepWhen = keepWhen;
        ImageShape = imageShape;
        ClassCount = classCount;
        Description = description;
    }

    public IDataView View { get; }
    public DataViewSchema.Column Features { get; }
    public DataViewSchema.Column Label { get; }
    public DataViewSchema.Column? Split { get; }
    public bool KeepWhen { get; }

    /// <summary>[3, H, W].</summary>
    public int[] ImageShape { get; }
    public int RowSize => ImageShape[0] * ImageShape[1] * ImageShape[2];
    public int ClassCount { get; }

    /// <summary>How errors and messages name this data ("training rows (IsValid = false)").</summary>
    public string Description { get; }

    /// <summary>Validates the columns of <paramref name="view"/> against the trainer options.</summary>
    public static TrainingData Create(IDataView view, string featureColumn, string labelColumn, string? splitColumn, bool keepWhen,
        string description, string viewName)
    {
        var schema = view.Schema;
        var features = schema.GetColumnOrNull(featureColumn)
            ?? throw new ArgumentException($"{viewName} has no feature column '{featureColumn}' (Options.FeatureColumnName). " +
                TrainerColumnHints.Features(schema));
        var imageShape = ImageShapeOf(features, "Options.FeatureColumnName");
        var label = schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentException($"{viewName} has no label column '{labelColumn}' (Options.LabelColumnName). " +
                TrainerColumnHints.Labels(schema));
        int classCount = ClassCountOf(label);
        DataViewSchema.Column? split = null;
        if (splitColumn is not null)
        {
            split = schema.GetColumnOrNull(splitColumn)
                ?? throw new ArgumentException($"{viewName} has no validation column '{splitColumn}' (Options.ValidationColumnName). " +
                    TrainerColumnHints.Splitters(schema));
            if (split.Value.Type != BooleanDataViewType.Instance)
                throw new ArgumentException($"Validation column '{splitColumn}' (Options.ValidationColumnName) must be Boolean (true = validation row); " +
                    $"it is {split.Value.Type}. " + TrainerColumnHints.Splitters(schema));
        }
        return new TrainingData(view, features, label, split, keepWhen, imageShape, classCount, description);
    }

    /// <summary>The [3, H, W] shape of an image tensor column, or a clear error.</summary>
    public static int[] ImageShapeOf(DataViewSchema.Column column, string optionName)
    {
        if (column.Type is VectorDataViewType { ItemType: NumberDataViewType n } v && n == NumberDataViewType.Single
            && v.Dimensions.Length == 3 && v.Dimensions[0] == 3 && v.Dimensions[1] > 0 && v.Dimensions[2] > 0)
            return [.. v.Dimensions];
        throw new ArgumentException($"Feature column '{column.Name}' ({optionName}) must be Vector<Single, 3, H, W> with known sizes " +
            $"(planar RGB, e.g. from ImagesToTensor); it is {Describe(column.Type)}.");
    }

    /// <summary>Number of classes of a key-typed label column, or a clear error.</summary>
    public static int ClassCountOf(DataViewSchema.Column label)
    {
        if (label.Type is KeyDataViewType key && key.Count is > 1 and <= int.MaxValue && key.RawType == typeof(uint))
            return (int)key.Count;
        if (label.Type is KeyDataViewType k2 && k2.Count <= 1)
            throw new ArgumentException($"Label column '{label.Name}' (Options.LabelColumnName) has {k2.Count} class(es); training needs at least 2.");
        throw new ArgumentException($"Label column '{label.Name}' (Options.LabelColumnName) must be a key type (UInt32 key, e.g. from " +
            $"MapValueToKey); it is {Describe(label.Type)}.");
    }

    private static string Describe(DataViewType type) => type is VectorDataViewType v
        ? $"Vector<{v.ItemType}{(v.Dimensions.Length == 0 ? "" : ", " + string.Join(", ", v.Dimensions.ToArray()))}>{(v.IsKnownSize ? "" : " of unknown size")}"
        : type.ToString() ?? type.GetType().Name;

    /// <summary>Counts the rows of this pass (reads only the splitter column).</summary>
    public long CountRows(CancellationToken cancellation)
    {
        if (Split is null && View.GetRowCount() is long known) return known;
        var columns = Split is null ? new[] { Label } : new[] { Split.Value };
        using var cursor = View.GetRowCursor(columns);
        var getter = Split is null ? null : cursor.GetGetter<bool>(Split.Value);
        long count = 0;
        bool flag = false;
        while (cursor.MoveNext())
        {
            if ((count & 1023) == 0) cancellation.ThrowIfCancellationRequested();
            if (getter is not null)
            {
                getter(ref flag);
                if (flag != KeepWhen) continue;
            }
            count++;
        }
        return count;
    }
}
