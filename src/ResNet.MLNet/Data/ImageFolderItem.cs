namespace ResNet.MLNet.Data;

/// <summary>One row of an <see cref="ImageFolder"/>: an image file, its label and its split.</summary>
public sealed class ImageFolderItem
{
    /// <summary>Absolute path of the image file.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The label: the name of the folder holding the image (fastai's <c>parent_label</c>).</summary>
    public string Label { get; set; } = "";

    /// <summary>True for a validation image (in the standard layout: its grandparent folder is the validation folder).</summary>
    public bool IsValid { get; set; }
}
