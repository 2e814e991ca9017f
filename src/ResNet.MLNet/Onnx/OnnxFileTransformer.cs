using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// A fitted stock chain that runs an ONNX graph from a file it owns (ML.NET's <c>ApplyOnnxModel</c> reads the graph
/// from disk, and again when the model is saved). Saving forwards to the chain; disposing ends the ONNX Runtime
/// session and deletes the file.
/// </summary>
internal sealed class OnnxFileTransformer : ITransformer, ICanSaveModel, IDisposable
{
    private readonly TransformerChain<ITransformer> _chain;
    private readonly string _file;

    private OnnxFileTransformer(TransformerChain<ITransformer> chain, string file)
    {
        _chain = chain;
        _file = file;
    }

    /// <summary>
    /// Writes <paramref name="onnx"/> to the scratch folder and fits <paramref name="pipeline"/> (given that file's
    /// path) on <paramref name="input"/>; the file is removed again when fitting fails.
    /// </summary>
    public static OnnxFileTransformer Fit(byte[] onnx, Func<string, IEstimator<ITransformer>> pipeline, IDataView input)
    {
        string file = ScratchFolder.WriteFile(onnx, ".onnx");
        try
        {
            var fitted = pipeline(file).Fit(input);
            return new OnnxFileTransformer(new TransformerChain<ITransformer>(fitted is IEnumerable<ITransformer> steps ? [.. steps] : [fitted]), file);
        }
        catch
        {
            AtomicFile.DeleteQuietly(file);
            throw;
        }
    }

    /// <inheritdoc />
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_chain).GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => _chain.Transform(input);

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    /// <inheritdoc />
    public void Dispose()
    {
        _chain.Dispose();
        AtomicFile.DeleteQuietly(_file);
    }
}
