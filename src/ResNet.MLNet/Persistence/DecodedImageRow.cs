using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace ResNet.MLNet.Persistence;

/// <summary>One decoded image as a data row; the column is named after the model's image column.</summary>
internal sealed class DecodedImageRow
{
    [AnySizeImageType]
    public MLImage? Image { get; set; }

    /// <summary>The schema definition that names the image column <paramref name="imageColumnName"/>.</summary>
    public static SchemaDefinition Definition(string imageColumnName)
    {
        var definition = SchemaDefinition.Create(typeof(DecodedImageRow));
        definition[nameof(Image)].ColumnName = imageColumnName;
        return definition;
    }

    /// <summary>An empty view with the image column, for schema checks.</summary>
    public static IDataView EmptyView(MLContext ml, string imageColumnName) =>
        ml.Data.LoadFromEnumerable(new List<DecodedImageRow>(), Definition(imageColumnName));

    /// <summary>
    /// Maps <see cref="MLImage"/> to ML.NET's image type of unknown size, the type <c>LoadImages</c> outputs (ML.NET's
    /// own <c>ImageType</c> attribute needs a fixed size).
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    private sealed class AnySizeImageTypeAttribute : DataViewTypeAttribute
    {
        public override bool Equals(DataViewTypeAttribute other) => other is AnySizeImageTypeAttribute;

        public override int GetHashCode() => typeof(AnySizeImageTypeAttribute).GetHashCode();

        public override void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), this);
    }
}
