namespace ResNet.MLNet.Transforms;

/// <summary>How <c>PresizeImages</c> makes an image square (fastai's <c>ResizeMethod</c>).</summary>
public enum ResizeMethod
{
    /// <summary>
    /// Scale so the image covers the square, then crop: the crop position is random on training passes and
    /// centred when scoring (fastai's default).
    /// </summary>
    Crop,

    /// <summary>
    /// Scale so the whole image fits in the square and pad the rest: reflection padding (random position) on
    /// training passes; when scoring and in a saved model, ML.NET's <c>IsoPad</c> (centred, black bars).
    /// </summary>
    Pad,

    /// <summary>Resize the whole image to the square, ignoring its aspect ratio.</summary>
    Squish,
}
