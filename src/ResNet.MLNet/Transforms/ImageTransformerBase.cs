using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Base of the image transformers. Each one owns a chain of stock ML.NET transformers that does its scoring-pass
/// work; <see cref="ICanSaveModel.Save"/> forwards to that chain, so model.zip reloads with plain
/// <c>MLContext.Model.Load</c> (no registration) and in-memory scoring equals the reloaded model. Training passes
/// (a cursor requested with a <see cref="Random"/>) may take a different, random path (see docs/transforms.md).
/// </summary>
internal abstract class ImageTransformerBase : ITransformer, ICanSaveModel, IDisposable
{
    private protected ImageTransformerBase(ITransformer? scoring) => Scoring = scoring;

    /// <summary>
    /// The stock ML.NET transformer (or chain) used when scoring and when saving; null when no stock equivalent
    /// exists (LoadImageFiles on encoded bytes), and then the transformer cannot be saved.
    /// </summary>
    public ITransformer? Scoring { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => Scoring?.IsRowToRowMapper ?? false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return Scoring?.GetOutputSchema(inputSchema) ?? OutputSchemaWithoutScoring(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return (Scoring ?? throw new NotSupportedException(NoStockEquivalent)).GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return TransformCore(input);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        ((ICanSaveModel)(Scoring ?? throw new NotSupportedException(NoStockEquivalent))).Save(ctx);

    /// <summary>Why a transformer without a stock equivalent cannot be saved or used row by row.</summary>
    private protected virtual string NoStockEquivalent => $"{GetType().Name} has no stock ML.NET equivalent and cannot be saved.";

    /// <summary>The output schema when there is no scoring chain.</summary>
    private protected virtual DataViewSchema OutputSchemaWithoutScoring(DataViewSchema inputSchema) =>
        throw new NotSupportedException(NoStockEquivalent);

    /// <summary>Throws a clear error when <paramref name="schema"/> lacks a usable input column.</summary>
    private protected abstract void CheckInput(DataViewSchema schema);

    /// <summary>Builds the output view; by default the scoring chain's (same on every pass).</summary>
    private protected virtual IDataView TransformCore(IDataView input) => Scoring!.Transform(input);

    /// <summary>Releases the scoring chain (its ONNX Runtime sessions and their files) and what the transformer holds.</summary>
    public void Dispose()
    {
        (Scoring as IDisposable)?.Dispose();
        ReleaseResources();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what a derived transformer holds besides the scoring chain.</summary>
    private protected virtual void ReleaseResources()
    {
    }
}
