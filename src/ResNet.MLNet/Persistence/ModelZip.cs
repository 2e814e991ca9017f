using System.IO.Compression;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// Reads <c>model.zip</c> files: loads them with errors that name the file (ML.NET's own messages do not), and
/// extracts the network's ONNX graph.
/// </summary>
internal static partial class ModelZip
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
            // Only the root cause, on one line: ML.NET's wrappers repeat it with a stack trace, and ONNX Runtime names
            // the temporary copy it loaded rather than the model.zip.
            var cause = e.GetBaseException();
            string first = cause.Message.Split(['\r', '\n'], 2)[0];
            string reason = OnnxLoadPath().Replace(first, "its ONNX graph failed to load: ");
            throw new InvalidDataException($"'{path}' is not a loadable ML.NET model.zip (truncated or corrupted?): {cause.GetType().Name}: {reason}");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Load model from .*? failed:\s*", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex OnnxLoadPath();

    /// <summary>
    /// Extracts the scoring network that <see cref="StockScoringModel"/> stored in <paramref name="path"/>: an ONNX
    /// model with input <c>[1, 3, H, W]</c> (named after the feature column, holding the normalised image tensor),
    /// output <c>Score</c> (softmax probabilities, [classes]) and <c>PredictedLabel.Index</c> (the arg-max, [1]); the
    /// class names are its <c>class_names</c> initializer. Runs as is in ONNX Runtime.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a zip, or no ResNet.MLNet network inside.</exception>
    public static byte[] ExtractScoringNetwork(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            // ML.NET's ONNX transformer stores its model as an entry named OnnxModel: an int32 length, then the bytes.
            foreach (var entry in zip.Entries.Where(e => e.Name == "OnnxModel").OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                using var reader = new BinaryReader(entry.Open());
                int length = reader.ReadInt32();
                if (length <= 0) continue;
                var bytes = reader.ReadBytes(length);
                if (bytes.Length != length)
                    throw new InvalidDataException($"entry '{entry.FullName}' is truncated ({bytes.Length} of {length} bytes)");
                using var session = new InferenceSession(bytes);
                if (session.OutputMetadata.ContainsKey(ResNetTransformer.ScoreColumnName)
                    && session.OutputMetadata.ContainsKey(StockScoringModel.PredictedIndexColumnName))
                    return bytes;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or OnnxRuntimeException)
        {
            throw new InvalidDataException($"'{path}' is not a readable model.zip (truncated or corrupted?): {e.Message}", e);
        }
        throw new InvalidDataException($"'{path}' contains no ResNet.MLNet network (no ONNX model with a Score output); was it saved from a ResNetTrainer pipeline?");
    }
}
