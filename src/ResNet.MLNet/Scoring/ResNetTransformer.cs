using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Scoring;

/// <summary>
/// The trained classifier: adds <c>Score</c> (softmax probabilities, <c>Vector&lt;Single, C&gt;</c> whose slot names are the
/// class names) and <c>PredictedLabel</c> (the training label's key type and key values), so
/// <c>MulticlassClassification.Evaluate</c> and <c>MapKeyToValue("PredictedLabel")</c> work unchanged.
/// Also exposes what persistence needs: the eval-mode module, class names, feature column and image shape, history.
/// <see cref="Transform"/> scores in batches with the TorchSharp network (the faster way for whole datasets of the larger
/// networks, and on a GPU). Single rows on the CPU (PredictionEngine) run the stock chain model.zip holds — the network
/// exported to ONNX and run by ONNX Runtime, made from the weights at first use — whose single-image forward is faster
/// (docs/benchmarks.md, section 4), so a PredictionEngine's scores are model.zip's by construction.
/// </summary>
public sealed class ResNetTransformer : ITransformer, IDisposable
{
    /// <summary>Name of the probabilities column.</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>Name of the predicted key column.</summary>
    public const string PredictedLabelColumnName = "PredictedLabel";

    private readonly DataViewSchema.Annotations _slotNames;
    private readonly DataViewSchema.Annotations _keyValues;
    private readonly object _forwardLock = new();
    private readonly Lock _stockGate = new();
    private readonly List<Onnx.OnnxFileTransformer> _stockChains = [];
    private Onnx.OnnxFileTransformer? _stockScoring;
    private bool _stockScoringFlipTta;
    private int _scoringBatchSize;

    internal ResNetTransformer(nn.Module<Tensor, Tensor> model, Device device, string architecture, string[] classNames,
        DataViewType labelType, string labelColumnName, string featureColumnName, int[] imageShape, IReadOnlyList<EpochMetrics> history,
        bool channelsLast, int scoringBatchSize)
    {
        Model = model;
        Device = device;
        ChannelsLast = channelsLast;
        ScoringBatchSize = scoringBatchSize;
        ArchitectureName = architecture;
        ClassNames = Array.AsReadOnly(classNames);
        PredictedLabelType = (KeyDataViewType)labelType;
        LabelColumnName = labelColumnName;
        FeatureColumnName = featureColumnName;
        ImageShape = Array.AsReadOnly(imageShape);
        History = history;
        _slotNames = ResNetTrainer.TextVectorAnnotation(AnnotationNames.SlotNames, classNames);
        _keyValues = ResNetTrainer.TextVectorAnnotation(AnnotationNames.KeyValues, classNames);
        model.eval();
    }

    /// <summary>The trained network in eval mode (input [N,3,H,W] float, output [N,C] logits).</summary>
    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>The device the model lives on.</summary>
    public Device Device { get; }

    /// <summary>
    /// Whether batch scoring feeds the network channels-last (NHWC) images (the trainer's <c>Options.ChannelsLast</c>).
    /// Single rows (PredictionEngine) stay NCHW, which is faster for one image on the CPU (docs/benchmarks.md, design measurements).
    /// </summary>
    internal bool ChannelsLast { get; }

    /// <summary>
    /// The network's bf16 copy from training (BatchNorm in fp32) when training ran in bf16, which batch scoring then
    /// uses (the step trial found bf16 faster on this CPU); null otherwise. model.zip always holds the fp32 network.
    /// </summary>
    internal nn.Module<Tensor, Tensor>? Bf16Scoring { get; init; }

    /// <summary>Name of the architecture that was trained.</summary>
    public string ArchitectureName { get; }

    /// <summary>Class names in key order (key 1 is <c>ClassNames[0]</c>).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Key type of <c>PredictedLabel</c> (the training label's).</summary>
    public KeyDataViewType PredictedLabelType { get; }

    /// <summary>The label column the model was trained on.</summary>
    public string LabelColumnName { get; }

    /// <summary>The image tensor column the model reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>The [3, H, W] image shape the model was trained on.</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>Every epoch's metrics, in order.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>Always true: each row is scored on its own, so PredictionEngine works.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus <c>Score</c> and <c>PredictedLabel</c>.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, ClassNames.Count), _slotNames);
        builder.AddColumn(PredictedLabelColumnName, PredictedLabelType, _keyValues);
        return builder.ToSchema();
    }

    /// <summary>
    /// Flip test-time augmentation: score each image as the mean of its softmax probabilities and those of its
    /// horizontal mirror, in memory and in the saved model.zip (inside its ONNX graph, so stock ML.NET and plain ONNX
    /// consumers get it too). Off by default; costs a second forward pass per image.
    /// </summary>
    public bool FlipTta { get; set; }

    /// <summary>Rows scored together by <see cref="Transform"/> (one forward pass per batch). Default: the training batch size, as the validation pass.</summary>
    public int ScoringBatchSize
    {
        get => _scoringBatchSize;
        set => _scoringBatchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "ScoringBatchSize must be at least 1.");
    }

    /// <summary>
    /// Scores every row of <paramref name="input"/>, lazily and in batches of <see cref="ScoringBatchSize"/>; the images are
    /// read into one tensor per batch (without copying when the input serves batch tensors).
    /// </summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        int c = ClassNames.Count;
        int batchSize = ScoringBatchSize;
        return new BatchedDataView(input,
            [new BatchOutputColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, c), _slotNames),
             new BatchOutputColumn(PredictedLabelColumnName, PredictedLabelType, _keyValues)],
            [],
            batch =>
            {
                var probabilities = new float[batch.Count * c];
                var scores = batch.Output<VBuffer<float>>(ScoreColumnName);
                var predicted = batch.Output<uint>(PredictedLabelColumnName);
                lock (_forwardLock)
                {
                    using var noGrad = torch.no_grad();
                    using var scope = torch.NewDisposeScope();
                    Probabilities(batch.InputTensor(FeatureColumnName), probabilities);
                }
                for (int i = 0; i < batch.Count; i++)
                {
                    var row = probabilities.AsSpan(i * c, c);
                    var editor = VBufferEditor.Create(ref scores[i], c);
                    row.CopyTo(editor.Values);
                    scores[i] = editor.Commit();
                    predicted[i] = (uint)ArgMax(row) + 1;
                }
            },
            batchSize, tensorDependencies: [FeatureColumnName]);
    }

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Maps single rows (used by PredictionEngine): on the CPU through the stock ONNX chain, on a GPU with TorchSharp.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return CpuScoring() is ITransformer stock ? stock.GetRowToRowMapper(inputSchema) : new ScoringRowMapper(this, inputSchema);
    }

    /// <summary>On the CPU, the stock scoring chain for the current <see cref="FlipTta"/> (single rows); null on a GPU.</summary>
    private Onnx.OnnxFileTransformer? CpuScoring()
    {
        if (Device.type != DeviceType.CPU) return null;
        lock (_stockGate)
        {
            if (_stockScoring is null || _stockScoringFlipTta != FlipTta)
            {
                _stockScoring = Persistence.StockScoringModel.Create(Model, ClassNames, FeatureColumnName, ImageShape, FlipTta);
                _stockScoringFlipTta = FlipTta;
                _stockChains.Add(_stockScoring);
            }
            return _stockScoring;
        }
    }

    /// <summary>
    /// Saves the stock ML.NET form of this model (see <see cref="Persistence.StockScoringModel"/>): the network as ONNX in
    /// <c>ApplyOnnxModel</c>, then <c>Score</c> and <c>PredictedLabel</c> from stock transforms, so model.zip loads
    /// without this library.
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var stock = Persistence.StockScoringModel.Create(Model, ClassNames, FeatureColumnName, ImageShape, FlipTta);
        ((ICanSaveModel)stock).Save(ctx);
    }

    /// <summary>Releases the network's native memory and the scoring sessions.</summary>
    public void Dispose()
    {
        lock (_stockGate)
        {
            foreach (var chain in _stockChains) chain.Dispose();
            _stockChains.Clear();
            _stockScoring = null;
        }
        Model.Dispose();
        Bf16Scoring?.Dispose();
    }

    internal DataViewSchema.Column CheckInput(DataViewSchema inputSchema)
    {
        var features = inputSchema.GetColumnOrNull(FeatureColumnName)
            ?? throw new ArgumentException($"The input has no column '{FeatureColumnName}', the image tensor column this model was trained on.");
        var shape = TrainingData.ImageShapeOf(features, "the model's feature column");
        if (!shape.SequenceEqual(ImageShape))
            throw new ArgumentException($"Column '{FeatureColumnName}' holds [{string.Join(",", shape)}] images; the model was trained on [{string.Join(",", ImageShape)}].");
        return features;
    }

    /// <summary>Softmax probabilities for the <paramref name="rows"/> images stored back to back in <paramref name="pixels"/> (exactly that long).</summary>
    internal void Score(float[] pixels, int rows, Span<float> probabilities)
    {
        int c = ClassNames.Count;
        lock (_forwardLock)
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            Probabilities(torch.tensor(pixels, [rows, ImageShape[0], ImageShape[1], ImageShape[2]]), probabilities[..(rows * c)]);
        }
    }

    /// <summary>Softmax probabilities of the images <paramref name="images"/> [N, 3, H, W] into <paramref name="probabilities"/> (N·C values).</summary>
    private void Probabilities(Tensor images, Span<float> probabilities)
    {
        var x = images.to(Device);
        if (ChannelsLast && x.shape[0] > 1) x = MemoryFormat.ToChannelsLast(x);
        Tensor Logits(Tensor batch) => Bf16Scoring is { } half
            ? half.forward(batch.to(ScalarType.BFloat16)).to(ScalarType.Float32)
            : Model.forward(batch);
        var p = nn.functional.softmax(Logits(x), 1);
        if (FlipTta) p = (p + nn.functional.softmax(Logits(x.flip(3)), 1)) / 2;
        p.to(ScalarType.Float32).cpu().contiguous().data<float>().CopyTo(probabilities, 0, 0);
    }
}
