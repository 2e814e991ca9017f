namespace ResNet.MLNet;

/// <summary>
/// The column names the library uses when none is given (ML.NET's <c>DefaultColumnNames</c>): the columns an image folder
/// loads, the decoded image, and the normalised pixels the trainer reads.
/// </summary>
internal static class DefaultColumnNames
{
    /// <summary>The text column of image paths.</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>The label column: the class name as text, a key after preprocessing.</summary>
    public const string Label = "Label";

    /// <summary>The Boolean splitter column: true for a validation row.</summary>
    public const string IsValid = "IsValid";

    /// <summary>The decoded image column.</summary>
    public const string Image = "Image";

    /// <summary>The planar pixel column: the trainer's features.</summary>
    public const string Pixels = "Pixels";
}
