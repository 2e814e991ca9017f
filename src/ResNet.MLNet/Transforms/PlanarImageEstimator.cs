using Microsoft.ML;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Estimator of a <see cref="PlanarImageTransformer"/>: checks the column pair at estimator time and fits the transformer
/// on the data (the planar transforms learn nothing from it but the input's element type and size).
/// </summary>
internal sealed class PlanarImageEstimator : IEstimator<ITransformer>
{
    private readonly string _transformName;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly Func<string, string, IDataView, PlanarImageTransformer> _fit;

    /// <param name="transformName">The transform's name in errors, e.g. "AugmentImages".</param>
    /// <param name="outputColumnName">The column to write.</param>
    /// <param name="inputColumnName">The planar pixels column; null: <paramref name="outputColumnName"/>.</param>
    /// <param name="fit">Creates the transformer from (output column, input column, data).</param>
    public PlanarImageEstimator(string transformName, string outputColumnName, string? inputColumnName,
        Func<string, string, IDataView, PlanarImageTransformer> fit)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        _transformName = transformName;
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
        _fit = fit;
    }

    /// <inheritdoc />
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return _fit(_outputColumnName, _inputColumnName, input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        ColumnChecks.PlanarShape(inputSchema, _transformName, _inputColumnName, _outputColumnName);
}
