using Microsoft.ML;

namespace ResNet.MLNet.Onnx;

/// <summary>Loads a <c>model.zip</c> with errors that name the file (ML.NET's own messages do not).</summary>
public static class ModelZip
{
    /// <summary>
    /// Loads <paramref name="path"/> with <c>MLContext.Model.Load</c>. Equivalent to calling it directly; the only
    /// difference is the error for a damaged file.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable model.zip (truncated, corrupted, not a model).</exception>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        try
        {
            return ml.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var cause = e.GetBaseException();
            throw new InvalidDataException(
                $"'{path}' is not a loadable ML.NET model.zip (truncated or corrupted?): {cause.GetType().Name}: {cause.Message}", e);
        }
    }
}
