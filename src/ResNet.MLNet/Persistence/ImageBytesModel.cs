using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Onnx;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// A classifier that reads decoded images instead of file paths: the steps of a model (a reloaded model.zip or a fitted
/// pipeline) that come after its image-loading step. A saved model.zip loads images with ML.NET's <c>LoadImages</c>,
/// which reads only path strings; this entry point lets the same model.zip score encoded bytes (uploads, streams)
/// without temporary files, while stock-only applications keep loading it from paths.
/// </summary>
/// <remarks>
/// The steps before the loader (e.g. <c>MapValueToKey("Label")</c>) are not part of scoring and are left out. Use
/// <see cref="CreatePredictionEngine"/> for bytes, or feed <see cref="Transformer"/> a view whose
/// <see cref="ImageColumnName"/> column holds <see cref="MLImage"/>s.
/// </remarks>
public sealed class ImageBytesModel
{
    private ImageBytesModel(ITransformer transformer, string imageColumnName, IReadOnlyList<string> classNames)
    {
        Transformer = transformer;
        ImageColumnName = imageColumnName;
        ClassNames = classNames;
    }

    /// <summary>The model's steps after image loading; its input is the <see cref="ImageColumnName"/> image column.</summary>
    public ITransformer Transformer { get; }

    /// <summary>The image column the model's loader produced (e.g. <c>Image</c>).</summary>
    public string ImageColumnName { get; }

    /// <summary>Class names in score order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Loads <paramref name="path"/> with <c>MLContext.Model.Load</c> and takes it apart after its image loader.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a loadable model.zip, or not an image classifier.</exception>
    public static ImageBytesModel Load(MLContext ml, string path)
    {
        var model = ModelZip.Load(ml, path, out var inputSchema);
        try
        {
            return FromModel(ml, model, inputSchema);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Takes <paramref name="model"/> apart after its image-loading step. A model built from stock parts (a reloaded
    /// model.zip) is split as is; a fitted pipeline with this library's transformers is first saved to memory and
    /// reloaded, so it scores exactly as its model.zip would.
    /// </summary>
    /// <param name="ml">The context.</param>
    /// <param name="model">The model, e.g. from <c>MLContext.Model.Load</c> or <c>Fit</c>.</param>
    /// <param name="inputSchema">The model's input schema (<c>Model.Load</c>'s out parameter, or the training data's schema).</param>
    /// <exception cref="ArgumentException">The model has no image-loading step, or does not output <c>Score</c> with class names.</exception>
    public static ImageBytesModel FromModel(MLContext ml, ITransformer model, DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ModelSteps steps;
        (int Index, string ImageColumn) loader;
        try
        {
            steps = ModelSteps.Of(ml, model, inputSchema);
            loader = steps.ImageLoader();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message, nameof(model), e);
        }

        string imageColumn = loader.ImageColumn;
        var transformer = steps.From(loader.Index + 1);
        var imageSchema = DecodedImageRow.EmptyView(ml, imageColumn).Schema;
        DataViewSchema output;
        try
        {
            output = transformer.GetOutputSchema(imageSchema);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"The model's steps after image loading need more than the image column '{imageColumn}': {e.Message}", nameof(model), e);
        }

        return new ImageBytesModel(transformer, imageColumn, ImagePrediction.GetClassNames(output));
    }

    /// <summary>
    /// A prediction engine that scores encoded image bytes. Like ML.NET's <c>PredictionEngine</c> it is not
    /// thread-safe: create one per thread or pool them.
    /// </summary>
    public ImageBytesPredictionEngine CreatePredictionEngine(MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        return new ImageBytesPredictionEngine(ml, this);
    }
}
