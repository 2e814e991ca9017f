using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Caching;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of <c>LoadPresizedImages</c>: the explicit chain <c>LoadImageFiles → PresizeImages → ImagesToTensor →
/// AppendCacheCheckpoint</c> as one step that decodes every image of the data it is fitted on exactly once, on every
/// core, into an <see cref="ImageCache"/> (in memory, or on disk for data larger than memory and for reuse across
/// runs). Its pixels are the explicit chain's scoring pixels (the centred presize); random cropping is the job of
/// <c>AugmentImages</c>. Saved as ML.NET's <c>LoadImages → ResizeImages → ExtractPixels</c>.
/// </summary>
internal sealed class LoadPresizedImagesEstimator : IEstimator<LoadPresizedImagesTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly int _size;
    private readonly ResizeMethod _method;
    private readonly ImageCache _cache;
    private readonly long _maxPixels;

    internal LoadPresizedImagesEstimator(string outputColumnName, string inputColumnName, int size, ResizeMethod method, ImageCache cache, long maxPixels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "LoadPresizedImages: size must be > 0 pixels.");
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "LoadPresizedImages: unknown ResizeMethod.");
        ImageFilePolicy.CheckLimit(maxPixels);
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _size = size;
        _method = method;
        _cache = cache;
        _maxPixels = maxPixels;
    }

    /// <summary>Decodes every image named in <paramref name="input"/> that the cache does not hold yet.</summary>
    public LoadPresizedImagesTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var path = LoadPresizedImagesTransformer.CheckPathColumn(input.Schema, _inputColumnName);
        var recipe = new PresizeRecipe(_size, _method, _maxPixels);
        var store = ImageStore.Build(_cache, recipe, DistinctPaths(input, path));
        return new LoadPresizedImagesTransformer(_outputColumnName, _inputColumnName, recipe, store, _maxPixels, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var column = ColumnChecks.FindShape(inputSchema, "LoadPresizedImages", _inputColumnName);
        if (column.ItemType is not TextDataViewType || column.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"LoadPresizedImages: column '{_inputColumnName}' has type {column.ItemType} ({column.Kind}); expected a text column of image paths.");
        return LoadPresizedImagesTransformer.StockEstimator(_outputColumnName, _inputColumnName, _size, _method, inputSchema.Select(c => c.Name))
            .GetOutputSchema(inputSchema);
    }

    private string[] DistinctPaths(IDataView input, DataViewSchema.Column column)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (row, value) in LoadPresizedImagesTransformer.Paths(input, column))
        {
            if (value.Span.IsWhiteSpace())
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"LoadPresizedImages: column '{_inputColumnName}' has an empty image path at row {row}."));
            paths.Add(ImageStore.KeyOf(value.ToString()));
        }
        return [.. paths];
    }
}

/// <summary>
/// Decoded, presized images as planar RGB bytes (see <see cref="LoadPresizedImagesEstimator"/>). Rows whose images are
/// all in its cache are served from it; other data is decoded as the explicit chain decodes it.
/// </summary>
internal sealed class LoadPresizedImagesTransformer : ImageTransformerBase
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly ImageStore _store;
    private readonly LoadImageFilesTransformer _loader;
    private readonly ITransformer _presizeAndExtract;

    internal LoadPresizedImagesTransformer(string outputColumnName, string inputColumnName, PresizeRecipe recipe, ImageStore store,
        long maxPixels, IDataView input)
        : base(StockEstimator(outputColumnName, inputColumnName, recipe.Size, recipe.Method, input.Schema.Select(c => c.Name)).Fit(input))
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _store = store;
        string image = ImageColumnName(outputColumnName, input.Schema.Select(c => c.Name));
        _loader = new LoadImageFilesTransformer(image, inputColumnName, null, maxPixels, input);
        var loaded = _loader.Transform(input);
        _presizeAndExtract = PresizeRecipe.StockPresize(outputColumnName, image, recipe.Size, recipe.Method)
            .Append(new MLContext().Transforms.DropColumns(image))
            .Fit(loaded);
    }

    /// <summary>The side of the presized squares.</summary>
    public int Size => _store.Recipe.Size;

    /// <summary>The presize method.</summary>
    public ResizeMethod Method => _store.Recipe.Method;

    /// <summary>Images held by the cache.</summary>
    public int CachedImageCount => _store.Count;

    /// <summary>Releases the cache (its memory, or its mapping of the store file; views read afterwards throw); the store on disk stays.</summary>
    private protected override void ReleaseResources() => _store.Dispose();

    /// <summary>ML.NET's chain with the same output: LoadImages → ResizeImages → ExtractPixels, the image column dropped.</summary>
    internal static IEstimator<ITransformer> StockEstimator(string output, string input, int size, ResizeMethod method, IEnumerable<string> inputColumns)
    {
        string image = ImageColumnName(output, inputColumns);
        var ml = new MLContext();
        return ml.Transforms.LoadImages(image, null, input)
            .Append(PresizeRecipe.StockPresize(output, image, size, method))
            .Append(ml.Transforms.DropColumns(image));
    }

    /// <summary>A name for the intermediate image column (Image, as in the explicit chain) that no other column has.</summary>
    private static string ImageColumnName(string output, IEnumerable<string> inputColumns)
    {
        var taken = inputColumns.Append(output).ToHashSet(StringComparer.Ordinal);
        string name = DefaultColumnNames.Image;
        for (int i = 1; taken.Contains(name); i++) name = $"{DefaultColumnNames.Image}{i}";
        return name;
    }

    internal static DataViewSchema.Column CheckPathColumn(DataViewSchema schema, string inputColumnName)
    {
        var column = ColumnChecks.Find(schema, "LoadPresizedImages", inputColumnName);
        return column.Type is TextDataViewType ? column
            : throw new ArgumentOutOfRangeException(nameof(inputColumnName),
                $"LoadPresizedImages: column '{inputColumnName}' has type {ColumnChecks.Describe(column.Type)}; expected a text column of image paths.");
    }

    private protected override void CheckInput(DataViewSchema schema) => CheckPathColumn(schema, _inputColumnName);

    private protected override IDataView TransformCore(IDataView input)
    {
        var path = CheckPathColumn(input.Schema, _inputColumnName);
        return AllStored(input, path)
            ? new ImageStoreDataView(input, _store, path, Scoring!.GetOutputSchema(input.Schema)[_outputColumnName])
            : _presizeAndExtract.Transform(_loader.Transform(input));
    }

    private bool AllStored(IDataView input, DataViewSchema.Column path) => Paths(input, path).All(row => _store.Contains(row.Path.Span));

    /// <summary>The rows' paths in order, each valid until the next is read.</summary>
    internal static IEnumerable<(long Row, ReadOnlyMemory<char> Path)> Paths(IDataView input, DataViewSchema.Column column)
    {
        using var cursor = input.GetRowCursor([column]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            yield return (cursor.Position, value);
        }
    }
}
