using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ResNet.MLNet.Transforms.Batching;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of <c>LoadImageFiles</c>: decodes image files named by a text column (optionally relative to an image
/// folder), or encoded image bytes (a Byte vector column), into an image column. Grayscale, palette, CMYK and
/// alpha images become colour images (alpha premultiplied), exactly as ML.NET's <c>LoadImages</c> decodes them.
/// </summary>
internal sealed class LoadImageFilesEstimator : IEstimator<LoadImageFilesTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly string? _imageFolder;
    private readonly long _maxPixels;

    internal LoadImageFilesEstimator(string outputColumnName, string inputColumnName, string? imageFolder, long maxPixels)
    {
        ImageFilePolicy.CheckLimit(maxPixels);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _imageFolder = imageFolder;
        _maxPixels = maxPixels;
    }

    /// <inheritdoc />
    public LoadImageFilesTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new LoadImageFilesTransformer(_outputColumnName, _inputColumnName, _imageFolder, _maxPixels, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var column = ColumnChecks.FindShape(inputSchema, "LoadImageFiles", _inputColumnName);
        bool isText = column.ItemType is TextDataViewType && column.Kind == SchemaShape.Column.VectorKind.Scalar;
        bool isBytes = column.ItemType == NumberDataViewType.Byte && column.Kind != SchemaShape.Column.VectorKind.Scalar;
        if (!isText && !isBytes)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"LoadImageFiles: column '{_inputColumnName}' has type {column.ItemType} ({column.Kind}); expected a text path or a vector of encoded image bytes.");
        var loader = new MLContext().Transforms.LoadImages(_outputColumnName, _imageFolder, _inputColumnName);
        if (isText) return loader.GetOutputSchema(inputSchema);
        // ML.NET's LoadImages only reads paths: derive the image column's shape from a text stand-in for the bytes.
        var withText = new SchemaShape(inputSchema.Where(c => c.Name != _inputColumnName).Append(TextShape(inputSchema, _inputColumnName)));
        var image = loader.GetOutputSchema(withText).First(c => c.Name == _outputColumnName);
        return new SchemaShape(inputSchema.Where(c => c.Name != _outputColumnName).Append(image));
    }

    private sealed class NoInput;

    private sealed class TextOutput
    {
        public string Text { get; set; } = "";
    }

    private static SchemaShape.Column TextShape(SchemaShape input, string name)
    {
        var definition = SchemaDefinition.Create(typeof(TextOutput));
        definition[0].ColumnName = name;
        return new MLContext().Transforms.CustomMapping<NoInput, TextOutput>((_, _) => { }, null, outputSchemaDefinition: definition)
            .GetOutputSchema(input).First(c => c.Name == name);
    }
}

/// <summary>
/// Decodes images (see <see cref="LoadImageFilesEstimator"/>). Unreadable, empty or truncated images are errors
/// naming the file. Saved as ML.NET's <c>LoadImages</c>.
/// </summary>
internal sealed class LoadImageFilesTransformer : ImageTransformerBase
{
    private const int DecodeBatch = 32;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly string? _imageFolder;
    private readonly long _maxPixels;

    internal LoadImageFilesTransformer(string outputColumnName, string inputColumnName, string? imageFolder, long maxPixels, IDataView input)
        : base(BuildScoring(outputColumnName, inputColumnName, imageFolder, input))
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _imageFolder = imageFolder;
        _maxPixels = maxPixels;
    }

    private static ITransformer? BuildScoring(string output, string inputName, string? folder, IDataView input) =>
        CheckColumn(input.Schema, inputName) ? new MLContext().Transforms.LoadImages(output, folder, inputName).Fit(input) : null;

    private protected override string NoStockEquivalent =>
        $"LoadImageFiles on encoded bytes (column '{_inputColumnName}') cannot be saved or used by a PredictionEngine: ML.NET's " +
        "LoadImages, the persisted form, reads only file paths. Train and save the pipeline with a path column.";

    private protected override DataViewSchema OutputSchemaWithoutScoring(DataViewSchema inputSchema)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(_outputColumnName, new ImageDataViewType());
        return builder.ToSchema();
    }

    private static bool CheckColumn(DataViewSchema schema, string inputName)
    {
        var column = ColumnChecks.Find(schema, "LoadImageFiles", inputName);
        if (column.Type is TextDataViewType) return true;
        if (column.Type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Byte) return false;
        throw new ArgumentOutOfRangeException(nameof(inputName),
            $"LoadImageFiles: column '{inputName}' has type {ColumnChecks.Describe(column.Type)}; expected a text path or a vector of encoded image bytes.");
    }

    private protected override void CheckInput(DataViewSchema schema) => CheckColumn(schema, _inputColumnName);

    private protected override IDataView TransformCore(IDataView input)
    {
        bool isPath = CheckColumn(input.Schema, _inputColumnName);
        return new BatchedDataView(input, [new BatchOutputColumn(_outputColumnName, new ImageDataViewType())], [_inputColumnName],
            batch => Decode(batch, isPath), DecodeBatch);
    }

    private void Decode(RowBatch batch, bool isPath)
    {
        var images = batch.Output<MLImage>(_outputColumnName);
        for (int i = 0; i < batch.Count; i++) images[i]?.Dispose();
        if (batch.IsTraining) DecodeMetrics.DecodingOnTrainingPass();
        DecodeMetrics.AddDecoded(batch.Count);
        if (isPath)
        {
            var paths = batch.Input<ReadOnlyMemory<char>>(_inputColumnName);
            Parallelism.For(batch.Count, i => images[i] = ImageDecoder.DecodeFile(ResolvePath(paths[i].ToString()), _maxPixels));
        }
        else
        {
            var bytes = batch.Input<VBuffer<byte>>(_inputColumnName);
            long first = batch.Index * DecodeBatch;
            Parallelism.For(batch.Count, i => images[i] = ImageDecoder.Decode(ColumnChecks.Dense(bytes[i]),
                $"the encoded image in column '{_inputColumnName}' of row {first + i}", _maxPixels));
        }
    }

    private string ResolvePath(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new InvalidDataException($"LoadImageFiles: column '{_inputColumnName}' has an empty image path.");
        return string.IsNullOrWhiteSpace(_imageFolder) ? path : Path.Combine(_imageFolder, path);
    }
}
