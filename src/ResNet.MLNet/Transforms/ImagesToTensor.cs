using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of <c>ImagesToTensor</c>: turns images of a known size (after <c>PresizeImages</c>) into planar RGB
/// bytes, a <c>Vector&lt;Byte, 3, H, W&gt;</c> column (0..255; one byte per value keeps a cache checkpoint small).
/// </summary>
internal sealed class ImagesToTensorEstimator : IEstimator<ImagesToTensorTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;

    internal ImagesToTensorEstimator(string outputColumnName, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
    }

    /// <inheritdoc />
    public ImagesToTensorTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ImagesToTensorTransformer(_outputColumnName, _inputColumnName, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var column = ColumnChecks.FindShape(inputSchema, "ImagesToTensor", _inputColumnName);
        if (column.ItemType is not ImageDataViewType)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"ImagesToTensor: column '{_inputColumnName}' has type {column.ItemType}; expected an image column (from LoadImageFiles + PresizeImages).");
        return ImagesToTensorTransformer.StockEstimator(_outputColumnName, _inputColumnName).GetOutputSchema(inputSchema);
    }
}

/// <summary>Planar RGB bytes from images (see <see cref="ImagesToTensorEstimator"/>); runs and saves as ML.NET's <c>ExtractPixels</c>.</summary>
internal sealed class ImagesToTensorTransformer : ImageTransformerBase
{
    private readonly string _inputColumnName;

    internal ImagesToTensorTransformer(string outputColumnName, string inputColumnName, IDataView input)
        : base(BuildScoring(outputColumnName, inputColumnName, input)) => _inputColumnName = inputColumnName;

    internal static ImagePixelExtractingEstimator StockEstimator(string output, string input) =>
        new MLContext().Transforms.ExtractPixels(output, input, ImagePixelExtractingEstimator.ColorBits.Rgb,
            ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, outputAsFloatArray: false);

    private static ITransformer BuildScoring(string output, string inputName, IDataView input)
    {
        CheckSized(input.Schema, inputName);
        return StockEstimator(output, inputName).Fit(input);
    }

    private static void CheckSized(DataViewSchema schema, string inputName)
    {
        var type = ColumnChecks.Image(schema, "ImagesToTensor", inputName);
        if (type.Height <= 0 || type.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputName),
                $"ImagesToTensor: images in column '{inputName}' have no fixed size; add PresizeImages before ImagesToTensor.");
    }

    private protected override void CheckInput(DataViewSchema schema) => CheckSized(schema, _inputColumnName);
}
