using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Base of the transformers that map one planar RGB image column <c>[3, H, W]</c> (bytes 0..255 or floats 0..1) to a
/// float image column with TorchSharp, a whole batch at a time. It owns the column pair, the input's shape check and
/// the two passes: <see cref="ITransformer.Transform"/> computes every batch with TorchSharp — randomly on training passes
/// (a cursor requested with a <see cref="Random"/>), deterministically otherwise — while single rows
/// (<c>PredictionEngine</c>) and model.zip take the stock chain in <see cref="ImageTransformerBase.Scoring"/>, which
/// computes the same deterministic values.
/// </summary>
internal abstract class PlanarImageTransformer : ImageTransformerBase
{
    private readonly string _transformName;

    private protected PlanarImageTransformer(string transformName, string outputColumnName, string inputColumnName, IDataView input,
        Func<PlanarImageColumns, ITransformer> buildScoring)
        : this(transformName, PlanarImageColumns.Of(input.Schema, transformName, outputColumnName, inputColumnName), buildScoring)
    {
    }

    private PlanarImageTransformer(string transformName, PlanarImageColumns columns, Func<PlanarImageColumns, ITransformer> buildScoring)
        : base(buildScoring(columns))
    {
        _transformName = transformName;
        Columns = columns;
    }

    /// <summary>The column pair and the input's element type and size, as fitted.</summary>
    private protected PlanarImageColumns Columns { get; }

    /// <summary>Rows per TorchSharp batch.</summary>
    private protected abstract int BatchSize { get; }

    /// <summary>The output column's type.</summary>
    private protected abstract VectorDataViewType OutputType { get; }

    /// <summary>
    /// The batch computation for one output view: from a batch's input images [N, 3, H, W] and the batch, its output
    /// images [N, 3, H', W'] (random when the batch's <see cref="RowBatch.Random"/> is set, deterministic otherwise).
    /// </summary>
    private protected abstract Func<Tensor, RowBatch, Tensor> CreateBatchTransform();

    private protected sealed override void CheckInput(DataViewSchema schema)
    {
        var (isByte, height, width) = ColumnChecks.PlanarImage(schema, _transformName, Columns.Input);
        if (isByte != Columns.IsByte || height != Columns.Height || width != Columns.Width)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"{_transformName}: column '{Columns.Input}' is {ColumnChecks.Describe(schema[Columns.Input].Type)}, but the transform was fitted on " +
                $"{(Columns.IsByte ? "Byte" : "Single")} images of {Columns.Height}×{Columns.Width}.");
    }

    private protected sealed override IDataView TransformCore(IDataView input)
    {
        var transform = CreateBatchTransform();
        return new BatchedDataView(input, [new BatchOutputColumn(Columns.Output, OutputType, IsTensor: true)], [],
            batch =>
            {
                using var scope = NewDisposeScope();
                batch.SetOutput(Columns.Output, transform(batch.InputTensor(Columns.Input), batch));
            },
            BatchSize, tensorDependencies: [Columns.Input]);
    }
}
