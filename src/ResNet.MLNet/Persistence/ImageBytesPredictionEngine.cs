using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// Classifies encoded images (JPEG, PNG, GIF, BMP, WebP…) held in memory with an <see cref="ImageBytesModel"/>: the
/// bytes are decoded exactly as ML.NET's <c>LoadImages</c> decodes files, so bytes and paths give the same scores.
/// Not thread-safe, like ML.NET's <c>PredictionEngine</c>; one per thread, or a pool.
/// </summary>
/// <remarks>
/// <see cref="Dispose"/> does not dispose the inner ML.NET <c>PredictionEngine</c>: in ML.NET 5.0.1 disposing one
/// engine over a chain with <c>ApplyOnnxModel</c> breaks every other engine of the same model (their next prediction
/// throws <see cref="NullReferenceException"/> inside ONNX Runtime), so the engine is left to the garbage collector.
/// </remarks>
public sealed class ImageBytesPredictionEngine : IDisposable
{
    private PredictionEngine<DecodedImageRow, ImagePrediction>? _engine;
    private long _maxPixels = ImageFilePolicy.DefaultMaxPixels;

    internal ImageBytesPredictionEngine(MLContext ml, ImageBytesModel model)
    {
        _engine = ml.Model.CreatePredictionEngine<DecodedImageRow, ImagePrediction>(model.Transformer,
            inputSchemaDefinition: DecodedImageRow.Definition(model.ImageColumnName));
        ClassNames = model.ClassNames;
    }

    /// <summary>
    /// Largest width × height <see cref="Predict"/> accepts, read from the image header before anything is decoded
    /// (default <see cref="ImageFilePolicy.DefaultMaxPixels"/>); a decoded image takes 4 bytes a pixel.
    /// </summary>
    public long MaxPixels
    {
        get => _maxPixels;
        set
        {
            ImageFilePolicy.CheckLimit(value);
            _maxPixels = value;
        }
    }

    /// <summary>Class names in score order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Decodes and classifies one encoded image.</summary>
    /// <param name="encodedImage">The image file's bytes.</param>
    /// <param name="source">Names the image in error messages (e.g. an upload's file name).</param>
    /// <exception cref="InvalidDataException">The bytes are empty, not an image, or truncated.</exception>
    public ImagePrediction Predict(ReadOnlySpan<byte> encodedImage, string source = "the encoded image")
    {
        var engine = _engine ?? throw new ObjectDisposedException(nameof(ImageBytesPredictionEngine));
        using var image = ImageDecoder.Decode(encodedImage, source, _maxPixels);
        return engine.Predict(new DecodedImageRow { Image = image });
    }

    /// <summary>Stops this engine; the model and its other engines keep working (see the remarks).</summary>
    public void Dispose() => _engine = null;
}
