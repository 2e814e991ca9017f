using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet;

/// <summary>
/// Classifies encoded images (JPEG, PNG, GIF, BMP, WebP…) held in memory with an <see cref="ImageBytesModel"/>: the
/// bytes are decoded exactly as ML.NET's <c>LoadImages</c> decodes files, so bytes and paths give the same scores.
/// Not thread-safe, like ML.NET's <c>PredictionEngine</c>; one per thread, or a pool.
/// </summary>
public sealed class ImageBytesPredictionEngine : IDisposable
{
    private readonly PredictionEngine<DecodedImageRow, ImagePrediction> _engine;

    internal ImageBytesPredictionEngine(MLContext ml, ImageBytesModel model)
    {
        _engine = ml.Model.CreatePredictionEngine<DecodedImageRow, ImagePrediction>(model.Transformer,
            inputSchemaDefinition: DecodedImageRow.Definition(model.ImageColumnName));
        ClassNames = model.ClassNames;
    }

    /// <summary>Class names in score order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Decodes and classifies one encoded image.</summary>
    /// <param name="encodedImage">The image file's bytes.</param>
    /// <param name="source">Names the image in error messages (e.g. an upload's file name).</param>
    /// <exception cref="InvalidDataException">The bytes are empty, not an image, or truncated.</exception>
    public ImagePrediction Predict(ReadOnlySpan<byte> encodedImage, string source = "the encoded image")
    {
        using var image = ImageDecoder.Decode(encodedImage, source);
        return _engine.Predict(new DecodedImageRow { Image = image });
    }

    /// <inheritdoc />
    public void Dispose() => _engine.Dispose();
}
