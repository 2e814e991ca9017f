using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// Builds the persisted form of a trained classifier from stock ML.NET transformers only, so a <c>model.zip</c>
/// loads with <c>MLContext.Model.Load</c> in any application that references Microsoft.ML,
/// Microsoft.ML.OnnxTransformer and Microsoft.ML.OnnxRuntime — without ResNet.MLNet.
/// </summary>
/// <remarks>
/// The chain, reading the image tensor column (<c>Vector&lt;Single&gt;</c> of 3·H·W values):
/// <list type="number">
/// <item><c>ApplyOnnxModel</c>: network → Softmax → <c>Score</c> (<c>Vector&lt;Single, C&gt;</c>; its <c>SlotNames</c>
/// are the class names, carried by an <c>ai.onnx.ml.LabelEncoder</c> node named <c>mlnet.Score.SlotNames</c>, the
/// convention ML.NET's ONNX transformer reads) and ArgMax → the predicted class index.</item>
/// <item><c>Hash</c> (combine) turns that one-element index vector into a scalar — ML.NET's ONNX transformer only
/// outputs vectors — and <c>MapValue</c> maps the hash of each index back to its class name (hashes are checked to be
/// distinct).</item>
/// <item><c>MapValueToKey</c> with the class names as key data gives <c>PredictedLabel</c>, a key whose
/// <c>KeyValues</c> are exactly the class names in order, as ML.NET's own multiclass trainers output; then the
/// helper columns are dropped.</item>
/// </list>
/// </remarks>
internal static class StockScoringModel
{
    /// <summary>Name of the ONNX output holding the arg-max class index (a helper column, dropped from the chain's output).</summary>
    public const string PredictedIndexColumnName = ResNetTransformer.PredictedLabelColumnName + ".Index";

    private const string IndexColumn = PredictedIndexColumnName;
    private const string HashColumn = ResNetTransformer.PredictedLabelColumnName + ".Hash";
    private const string NameColumn = ResNetTransformer.PredictedLabelColumnName + ".Name";

    /// <summary>
    /// Builds the stock transformer chain that scores <paramref name="featureColumnName"/> with
    /// <paramref name="network"/> (eval mode) and adds <c>Score</c> and <c>PredictedLabel</c>.
    /// Dispose the chain when done (it holds an ONNX Runtime session).
    /// </summary>
    /// <param name="network">The trained network ([N,3,H,W] → [N,C] logits).</param>
    /// <param name="classNames">Class names in key order (key 1 is <c>classNames[0]</c>).</param>
    /// <param name="featureColumnName">The image tensor column the network reads.</param>
    /// <param name="imageShape">The tensor shape [channels, height, width].</param>
    /// <param name="flipTta">Score each image as the mean of its probabilities and its horizontal mirror's (flip
    /// test-time augmentation, computed inside the one ONNX graph).</param>
    public static OnnxFileTransformer Create(nn.Module<Tensor, Tensor> network, IReadOnlyList<string> classNames,
        string featureColumnName, IReadOnlyList<int> imageShape, bool flipTta = false)
    {
        ArgumentNullException.ThrowIfNull(network);
        CheckArguments(classNames, featureColumnName, imageShape);
        var onnx = ExportScoringNetwork(network, classNames, featureColumnName, imageShape, flipTta);
        return Create(onnx, classNames, featureColumnName, imageShape);
    }

    /// <summary>
    /// The ONNX scoring graph: feature tensor [1,C,H,W] → <c>Score</c> [classes] and the ArgMax index [1]. With
    /// <paramref name="flipTta"/>, the image and its mirror (Slice with step −1 along the width) run as one batch of
    /// two and <c>Score</c> is the mean of their softmax probabilities.
    /// </summary>
    internal static byte[] ExportScoringNetwork(nn.Module<Tensor, Tensor> network, IReadOnlyList<string> classNames,
        string featureColumnName, IReadOnlyList<int> imageShape, bool flipTta = false)
    {
        var graph = new OnnxGraphBuilder(network.GetName());
        graph.UseOperatorSet(OnnxGraphBuilder.MlDomain, OnnxGraphBuilder.DefaultMlOpset);
        var input = graph.AddInput(featureColumnName, OnnxElementType.Float, 1, imageShape[0], imageShape[1], imageShape[2]);
        var batch = flipTta ? graph.AddNode("Concat", [input, AddMirror(graph, input)], OnnxAttribute.Int("axis", 0)) : input;
        var logits = OnnxExporter.AddNetwork(graph, network, batch, imageShape[0], imageShape[1], imageShape[2], foldBatchNorm: true, out long classes);
        if (classes != classNames.Count)
            throw new ArgumentException($"The network outputs {classes} classes but {classNames.Count} class names were given.", nameof(classNames));
        var probabilities = graph.AddNode("Softmax", [logits], OnnxAttribute.Int("axis", 1));
        if (flipTta)
            probabilities = graph.AddNode("ReduceMean", [probabilities], OnnxAttribute.Ints("axes", [0]), OnnxAttribute.Int("keepdims", 1));
        graph.AddNode("Reshape", [probabilities, graph.AddInitializer("score_shape", [(long)classNames.Count], 1)], [ResNetTransformer.ScoreColumnName]);
        graph.AddNode("ArgMax", [probabilities], [IndexColumn], [OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0)]);

        // Slot names for Score: ML.NET's ONNX transformer reads keys_strings of the node named mlnet.<column>.SlotNames.
        var names = graph.AddInitializer("class_names", classNames.ToArray(), classNames.Count);
        graph.AddNode("LabelEncoder", [names], ["class_indices"],
            [OnnxAttribute.Strings("keys_strings", classNames),
             OnnxAttribute.Ints("values_int64s", Enumerable.Range(0, classNames.Count).Select(i => (long)i).ToArray()),
             OnnxAttribute.Int("default_int64", -1)],
            nodeName: $"mlnet.{ResNetTransformer.ScoreColumnName}.SlotNames", domain: OnnxGraphBuilder.MlDomain);

        graph.AddOutput(ResNetTransformer.ScoreColumnName, OnnxElementType.Float, classNames.Count);
        graph.AddOutput(IndexColumn, OnnxElementType.Int64, 1);
        return graph.ToModelBytes();
    }

    /// <summary>The horizontal mirror of an [N, C, H, W] tensor: Slice along the width from the last column backwards.</summary>
    private static string AddMirror(OnnxGraphBuilder graph, string input) =>
        graph.AddNode("Slice", [input,
            graph.AddInitializer("mirror_starts", [-1L], 1),
            graph.AddInitializer("mirror_ends", [long.MinValue], 1),
            graph.AddInitializer("mirror_axes", [3L], 1),
            graph.AddInitializer("mirror_steps", [-1L], 1)]);

    /// <summary>Builds the chain around an already exported scoring graph (see <see cref="ExportScoringNetwork"/>).</summary>
    internal static OnnxFileTransformer Create(byte[] scoringOnnx, IReadOnlyList<string> classNames,
        string featureColumnName, IReadOnlyList<int> imageShape)
    {
        var ml = new MLContext();
        var schemaData = FeatureSchemaData(ml, featureColumnName, imageShape);
        var (lookup, hashOptions) = HashLookup(ml, classNames);
        var keyData = ml.Data.LoadFromEnumerable(classNames.Select(n => new NameRow { Name = n }).ToList());

        return OnnxFileTransformer.Fit(scoringOnnx, file => ml.Transforms.ApplyOnnxModel([ResNetTransformer.ScoreColumnName, IndexColumn], [featureColumnName], file)
            .Append(ml.Transforms.Conversion.Hash([hashOptions]))
            .Append(ml.Transforms.Conversion.MapValue(NameColumn, lookup, lookup.Schema[HashColumn], lookup.Schema[nameof(NameRow.Name)], HashColumn))
            .Append(ml.Transforms.Conversion.MapValueToKey(ResNetTransformer.PredictedLabelColumnName, NameColumn, keyData: keyData))
            .Append(ml.Transforms.DropColumns(IndexColumn, HashColumn, NameColumn)), schemaData);
    }

    /// <summary>
    /// A lookup from the combined hash of each one-element index vector to its class name, computed by the very
    /// Hash transform the chain uses; tries other seeds in the (unlikely) case of a collision.
    /// </summary>
    private static (IDataView Lookup, HashingEstimator.ColumnOptions Options) HashLookup(MLContext ml, IReadOnlyList<string> classNames)
    {
        var rows = classNames.Select((name, i) => new IndexRow { Index = [i], Name = name }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        for (uint seed = 314489979; ; seed++)
        {
            var options = new HashingEstimator.ColumnOptions(HashColumn, IndexColumn, numberOfBits: 31, seed: seed, combine: true);
            var hashed = ml.Transforms.Conversion.Hash([options]).Fit(data).Transform(data);
            var hashes = hashed.GetColumn<uint>(HashColumn).ToArray();
            if (hashes.Distinct().Count() == hashes.Length && !hashes.Contains(0u))
                return (ml.Transforms.SelectColumns(HashColumn, nameof(IndexRow.Name)).Fit(hashed).Transform(hashed), options);
        }
    }

    private static IDataView FeatureSchemaData(MLContext ml, string featureColumnName, IReadOnlyList<int> imageShape)
    {
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition[0].ColumnName = featureColumnName;
        definition[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, imageShape[0], imageShape[1], imageShape[2]);
        return ml.Data.LoadFromEnumerable(new List<FeatureRow>(), definition);
    }

    private static void CheckArguments(IReadOnlyList<string> classNames, string featureColumnName, IReadOnlyList<int> imageShape)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentException.ThrowIfNullOrWhiteSpace(featureColumnName);
        ArgumentNullException.ThrowIfNull(imageShape);
        if (classNames.Count < 2) throw new ArgumentException($"A classifier needs at least 2 class names; got {classNames.Count}.", nameof(classNames));
        if (classNames.Any(string.IsNullOrEmpty)) throw new ArgumentException("Class names must be non-empty.", nameof(classNames));
        var duplicate = classNames.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Class name '{duplicate.Key}' appears more than once.", nameof(classNames));
        if (imageShape.Count != 3 || imageShape.Any(d => d < 1))
            throw new ArgumentException($"The image shape must be [channels, height, width] with positive sizes; got [{string.Join(", ", imageShape)}].", nameof(imageShape));
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    private sealed class NameRow
    {
        public string Name { get; set; } = "";
    }

    private sealed class IndexRow
    {
        [VectorType(1)]
        [ColumnName(IndexColumn)]
        public long[] Index { get; set; } = [];

        public string Name { get; set; } = "";
    }
}
