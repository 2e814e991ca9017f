using ResNet.MLNet.Persistence;

namespace ResNet.MLNet;

/// <summary>
/// One image to classify with a <c>PredictionEngine&lt;ImageInput, ImagePrediction&gt;</c>: a file path or the
/// encoded bytes (JPEG/PNG/…) a web service receives.
/// </summary>
/// <remarks>
/// The model reads whichever column its loader was built on. A saved model.zip (and any <c>PredictionEngine</c>) reads
/// <see cref="ImagePath"/>: its persisted loader is ML.NET's <c>LoadImages</c>, which only reads files; to score
/// encoded bytes with a model.zip use <see cref="ImageBytesModel"/>. Pipelines fitted on a bytes column
/// (<c>LoadImageFiles("Image", "ImageBytes")</c>) read <see cref="ImageBytes"/> through <c>Transform</c> in this
/// library. <see cref="Label"/> is not used for prediction; it is there because pipelines that begin with
/// <c>MapValueToKey("Label")</c> need the column to exist when ML.NET binds the input (leave it empty).
/// </remarks>
public sealed class ImageInput
{
    /// <summary>Path of the image file.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The encoded image file's bytes.</summary>
    public byte[] ImageBytes { get; set; } = [];

    /// <summary>Unused when predicting; see the remarks.</summary>
    public string Label { get; set; } = "";
}
