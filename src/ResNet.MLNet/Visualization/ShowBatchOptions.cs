using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Visualization;

/// <summary>Options of <see cref="ImageDataCatalog.ShowBatch"/>.</summary>
public sealed class ShowBatchOptions
{
    /// <summary>The image column: planar pixels <c>[3, H, W]</c> (Byte 0..255 or Single 0..1) or an image column.</summary>
    public string ImageColumnName { get; set; } = DefaultColumnNames.Pixels;

    /// <summary>The label column shown as each image's title (key, text, number or bool); null for no titles.</summary>
    public string? LabelColumnName { get; set; } = DefaultColumnNames.Label;

    /// <summary>Seed of the training pass (the images are augmented as in training); null reads a scoring pass.</summary>
    public int? Seed { get; set; } = 0;

    /// <summary>When the pixels were normalised with these statistics, undo it before drawing.</summary>
    public ImageStats? NormalizedWith { get; set; }

    /// <summary>Side length in pixels each image is drawn at.</summary>
    public int TileSize { get; set; } = 192;
}
