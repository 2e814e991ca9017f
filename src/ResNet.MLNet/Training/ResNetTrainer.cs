using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// Trains a TorchSharp image classifier the way fastai's <c>Learner.fit_one_cycle</c> does (Adam with decoupled weight
/// decay, one-cycle learning rate and momentum, cross-entropy, accuracy) as the last step of an ML.NET pipeline.
/// Input: a key-typed label and a <c>Vector&lt;Single, 3, H, W&gt;</c> image column. Output: a <see cref="ResNetTransformer"/>
/// adding <c>Score</c> (class probabilities) and <c>PredictedLabel</c> (the label's key type).
/// </summary>
public sealed partial class ResNetTrainer : IEstimator<ResNetTransformer>
{
    private readonly Options _options;

    /// <summary>Creates the trainer; prefer <c>ml.MulticlassClassification.Trainers.ResNet(...)</c>.</summary>
    public ResNetTrainer(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _options = options;
    }

    /// <summary>The options this trainer was created with.</summary>
    public Options TrainerOptions => _options;

    /// <summary>
    /// Trains on <paramref name="input"/> (the rows with <c>ValidationColumnName</c> false, or every row when it is null or
    /// a <c>ValidationSet</c> is given) and returns the fitted transformer.
    /// </summary>
    public ResNetTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        string? checkpointPath = o.CheckpointDirectory is null ? null : TrainingCheckpoint.PathIn(o.CheckpointDirectory);
        if (o.Resume && !File.Exists(checkpointPath))
            throw new FileNotFoundException($"Options.Resume is set but there is no checkpoint at '{checkpointPath}' (Options.CheckpointDirectory); " +
                "train with a CheckpointDirectory first, or set Resume = false to start over.", checkpointPath);
        using var run = PrepareFit(o, input);
        var learner = run.Learner;
        var identity = new TrainingCheckpoint(o.Architecture.Name, run.Train.ClassCount, run.Train.ImageShape, o.Epochs,
            run.BatchesPerEpoch, o.MaxLearningRate, run.Seed);
        int startEpoch = 0;
        if (o.Resume)
        {
            startEpoch = identity.Load(o.CheckpointDirectory!, learner, run.Recorder);
            run.Log.WriteLine($"Resuming from {checkpointPath} after epoch {startEpoch - 1}.");
            run.Recorder.WriteTable();
        }
        if (startEpoch == 0) o.InitialWeights?.ContinueInto(learner, o.Architecture, run.ClassNames, run.Log);
        if (o.Schedule.IsFineTune) FineTune(o, run, identity);
        else run.Fit(o.Epochs, startEpoch, Callbacks(o, run, ParamScheduler.OneCycle(o.MaxLearningRate, o.PctStart, o.Div, o.DivFinal), identity), o.CancellationToken);

        return new ResNetTransformer(run.ReleaseModel(), run.Device, o.Architecture.Name, run.ClassNames, run.Train.Label.Type,
            o.LabelColumnName, o.FeatureColumnName, run.Train.ImageShape, [.. run.Recorder.History], learner.ChannelsLast, o.BatchSize)
        {
            Bf16Scoring = run.ReleaseBf16Scoring(),
        };
    }

    /// <summary>fastai's <c>fine_tune</c>: the head (and BatchNorm) first, then everything with discriminative learning rates.</summary>
    private static void FineTune(Options o, TrainingRun run, TrainingCheckpoint identity)
    {
        var learner = run.Learner;
        if (learner.Model is not Modules.IParameterGroups split || split.ParameterGroups.Count < 2)
            throw new ArgumentException($"TrainingSchedule.FineTune needs a network split into parameter groups (Modules.IParameterGroups, e.g. " +
                $"Architectures.TorchVisionResNet34); {o.Architecture.Name} has none. Train it with TrainingSchedule.OneCycle.");
        int groups = split.ParameterGroups.Count;
        int freezeEpochs = o.Schedule.FreezeEpochs;
        float multiplier = o.Schedule.LearningRateMultiplier;
        double baseLr = o.MaxLearningRate;
        if (freezeEpochs > 0)
        {
            run.Log.WriteLine($"fine_tune: {freezeEpochs} epoch{(freezeEpochs == 1 ? "" : "s")} with the body frozen (lr {baseLr:G3}), " +
                $"then {o.Epochs} of the whole network (lr {baseLr / 2 / multiplier:G3}…{baseLr / 2:G3} over {groups} groups).");
            ParameterFreezing.Freeze(learner);
            learner.Optimizer.SetGroupMultipliers([.. Enumerable.Repeat(0.1, groups - 1), 1.0]);   // fastai's slice(base_lr)
            run.Fit(freezeEpochs, 0, Callbacks(o, run, ParamScheduler.OneCycle(baseLr, 0.99, o.Div, o.DivFinal), identity), o.CancellationToken);
        }
        baseLr /= 2;
        ParameterFreezing.Unfreeze(learner);
        learner.Optimizer.SetGroupMultipliers(EvenMultipliers(1 / multiplier, groups));
        run.Fit(o.Epochs, 0, Callbacks(o, run, ParamScheduler.OneCycle(baseLr, 0.3, 5, o.DivFinal), identity), o.CancellationToken);
    }

    /// <summary>fastai's <c>even_mults(lo, 1, n)</c>: n multipliers spaced geometrically from <paramref name="lowest"/> to 1.</summary>
    internal static double[] EvenMultipliers(double lowest, int n) =>
        n == 1 ? [1.0] : Enumerable.Range(0, n).Select(i => lowest * Math.Pow(1 / lowest, (double)i / (n - 1))).ToArray();

    /// <summary>
    /// The callbacks of a fit: the parameter scheduler, the divergence check, the run's recorder, the progress bar,
    /// checkpoints and <c>Options.Callbacks</c> (recipes and the user's own).
    /// </summary>
    private static List<LearnerCallback> Callbacks(Options o, TrainingRun run, ParamScheduler schedule, TrainingCheckpoint identity)
    {
        var callbacks = new List<LearnerCallback> { schedule, new DivergenceGuard(run.Train.ClassCount), run.Recorder };
        if (o.ShowProgressBar && ConsoleProgressBar.IsTerminal(run.Log)) callbacks.Add(new ProgressCallback());
        if (o.CheckpointDirectory is not null) callbacks.Add(new CheckpointCallback(identity, o.CheckpointDirectory, o.CancellationToken));
        if (o.AfterBatch is not null) callbacks.Add(new BatchLossHook(o.AfterBatch));
        callbacks.AddRange(o.Callbacks);
        return callbacks;
    }

    /// <summary>A fit's run: the training rows and validation data of <paramref name="input"/>, with a network model.zip can hold.</summary>
    internal static TrainingRun PrepareFit(Options o, IDataView input)
    {
        string? split = Splitter(o, input);
        var train = TrainingRows(o, input, split);
        TrainingData? valid = null;
        if (o.ValidationSet is not null)
            valid = TrainingData.Create(o.ValidationSet, o.FeatureColumnName, o.LabelColumnName, null, keepWhen: true,
                "the validation set", "Options.ValidationSet");
        else if (split is not null)
            valid = TrainingData.Create(input, o.FeatureColumnName, o.LabelColumnName, split, keepWhen: true,
                $"the validation rows ({split} = true)", "The training data");
        foreach (var monitor in o.Callbacks.OfType<IMetricMonitor>()) monitor.Tracker.RequireData(hasValidation: valid is not null);
        if (valid is not null && valid.ClassCount != train.ClassCount)
            throw new ArgumentException($"Options.ValidationSet's label '{o.LabelColumnName}' has {valid.ClassCount} classes; the training data's has {train.ClassCount}.");
        if (valid is not null && !valid.ImageShape.SequenceEqual(train.ImageShape))
            throw new ArgumentException($"Options.ValidationSet's images are [{string.Join(",", valid.ImageShape)}]; the training images are [{string.Join(",", train.ImageShape)}].");
        return Prepare(o, train, valid, checkNetwork: model => CheckExportable(o, model, train));
    }

    /// <summary>The LR range test's run: the training rows of <paramref name="input"/> only, and a network that is never saved.</summary>
    internal static TrainingRun PrepareRangeTest(Options o, IDataView input) =>
        Prepare(o, TrainingRows(o, input, Splitter(o, input)), valid: null, checkNetwork: null);

    private static TrainingData TrainingRows(Options o, IDataView input, string? split) =>
        TrainingData.Create(input, o.FeatureColumnName, o.LabelColumnName, split, keepWhen: false,
            "the training rows" + (split is null ? "" : $" ({split} = false)"), "The training data");

    private static string? Splitter(Options o, IDataView input) =>
        SplitterColumn(o, o.ValidationColumnName is string name && input.Schema.GetColumnOrNull(name) is not null);

    /// <summary>
    /// Initialises torch and builds the seeded model and learner over <paramref name="train"/> and <paramref name="valid"/>;
    /// <paramref name="checkNetwork"/> sees the new network before it takes starting weights.
    /// </summary>
    private static TrainingRun Prepare(Options o, TrainingData train, TrainingData? valid, Action<nn.Module<Tensor, Tensor>>? checkNetwork)
    {
        var classNames = ClassNamesOf(train.Label, train.ClassCount);
        TrainingDevice.InitialiseTorch();
        var device = TrainingDevice.Resolve(o.Device);
        var log = o.Log ?? Console.Out;
        int seed = o.Seed ?? Random.Shared.Next();
        long batchesPerEpoch = train.CountRows(o.CancellationToken) / o.BatchSize;

        torch.manual_seed(seed);
        var model = CreateModel(o, train, device);
        HalfPrecisionCopy? half = null;
        try
        {
            checkNetwork?.Invoke(model);
            o.InitialWeights?.LoadInto(model, o.Architecture, log);
            var candidates = StepCandidates(o, device, model, log);
            var settings = batchesPerEpoch == 0 ? candidates[0]
                : StepTrial.Choose(candidates, o.Architecture, train.ClassCount, train.ImageShape, o.BatchSize, device, log,
                    o.StepTrialRecords ?? StepTrialRecords.Default, o.CancellationToken);
            if (settings.HalfPrecision is ScalarType dtype)
            {
                half = new HalfPrecisionCopy(model, CreateModel(o, train, device), dtype, new LossScaler());
                log.WriteLine($"MixedPrecision: training in {(dtype == ScalarType.Float16 ? "fp16" : "bf16")} with fp32 master weights and dynamic loss scaling.");
            }
            else if (o.MixedPrecision && candidates.Any(c => c.HalfPrecision is not null))
                log.WriteLine("MixedPrecision: training in fp32 (its steps were faster than bf16 steps on this CPU).");
            var learner = new Learner(model, device, o.BatchSize, o.WeightDecay, half, log, settings.ChannelsLast, new ClassificationLoss(o.LabelSmoothing));
            var recorder = new Recorder(log, valid?.Description, o.Metrics.ToArray(), m => o.MetricsCallback?.Invoke(m));
            return new TrainingRun(learner, recorder, train, valid, seed, batchesPerEpoch, classNames, log, device);
        }
        catch
        {
            half?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The splitter column the training data is filtered by: <c>ValidationColumnName</c>, or none when it is null or a
    /// <c>ValidationSet</c> is given. A splitter column beside a <c>ValidationSet</c> is refused: its validation rows
    /// would silently be trained on.
    /// </summary>
    private static string? SplitterColumn(Options o, bool inputHasSplitter)
    {
        if (o.ValidationColumnName is null) return null;
        if (o.ValidationSet is null) return o.ValidationColumnName;
        if (inputHasSplitter)
            throw new ArgumentException($"The training data has the splitter column '{o.ValidationColumnName}' (Options.ValidationColumnName) and " +
                "Options.ValidationSet is set, so its validation rows would be trained on: leave ValidationSet unset to validate on " +
                $"the '{o.ValidationColumnName}' rows, or set ValidationColumnName = null to train on every row and validate on ValidationSet.");
        return null;
    }

    /// <summary>
    /// The step settings worth trying: each layout <see cref="MemoryFormat.Layouts"/> allows, in fp32 or, with
    /// <c>MixedPrecision</c>, fp16 on CUDA, and on a CPU that computes bf16 natively both fp32 and bf16 (elsewhere fp32, said once).
    /// </summary>
    private static StepSettings[] StepCandidates(Options o, Device device, nn.Module model, TextWriter log)
    {
        ScalarType?[] precisions = [null];
        if (o.MixedPrecision && device.type == DeviceType.CUDA) precisions = [ScalarType.Float16];
        else if (o.MixedPrecision && o.CpuHalfPrecision is ScalarType forced) precisions = [forced];
        else if (o.MixedPrecision && CpuFeatures.HasBf16) precisions = [null, ScalarType.BFloat16];
        else if (o.MixedPrecision)
            log.WriteLine($"MixedPrecision: training in fp32: this CPU ({CpuFeatures.Model}) has no bf16 instructions (avx512_bf16 or amx_bf16), so bf16 would be slower.");
        return MemoryFormat.Layouts(o.ChannelsLast, device, model)
            .SelectMany(channelsLast => precisions.Select(p => new StepSettings(channelsLast, p))).ToArray();
    }

    /// <summary>Checks the input columns and describes the output: the input columns plus <c>Score</c> and <c>PredictedLabel</c>.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        var features = inputSchema.FirstOrDefault(c => c.Name == o.FeatureColumnName);
        if (features.Name is null)
            throw new ArgumentException($"The input has no feature column '{o.FeatureColumnName}' (Options.FeatureColumnName). " +
                TrainerColumnHints.Features(inputSchema));
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Feature column '{o.FeatureColumnName}' (Options.FeatureColumnName) must be a known-size Vector<Single, 3, H, W>. " +
                TrainerColumnHints.Features(inputSchema));
        var label = inputSchema.FirstOrDefault(c => c.Name == o.LabelColumnName);
        if (label.Name is null)
            throw new ArgumentException($"The input has no label column '{o.LabelColumnName}' (Options.LabelColumnName). " +
                TrainerColumnHints.Labels(inputSchema));
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' (Options.LabelColumnName) must be a key type (e.g. from MapValueToKey). " +
                TrainerColumnHints.Labels(inputSchema));
        var splitter = inputSchema.FirstOrDefault(c => c.Name == o.ValidationColumnName);
        if (SplitterColumn(o, splitter.Name is not null) is string split
            && (splitter.Name is null || splitter.ItemType != BooleanDataViewType.Instance || splitter.Kind != SchemaShape.Column.VectorKind.Scalar))
            throw new ArgumentException($"The input has no Boolean validation column '{split}' (Options.ValidationColumnName). " +
                TrainerColumnHints.Splitters(inputSchema));
        // SchemaShape columns cannot be built with public API; CopyColumns derives them: Score has the shape of a known-size
        // float vector, PredictedLabel that of the label key (with its key values).
        var copies = new MLContext().Transforms;
        return copies.CopyColumns(ResNetTransformer.ScoreColumnName, o.FeatureColumnName)
            .Append(copies.CopyColumns(ResNetTransformer.PredictedLabelColumnName, o.LabelColumnName)).GetOutputSchema(inputSchema);
    }

    internal static DataViewSchema.Annotations TextVectorAnnotation(string kind, IReadOnlyList<string?> values)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        var memory = values.Select(v => (v ?? "").AsMemory()).ToArray();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            dst = new VBuffer<ReadOnlyMemory<char>>(memory.Length, (ReadOnlyMemory<char>[])memory.Clone());
        builder.Add(kind, new VectorDataViewType(TextDataViewType.Instance, memory.Length), getter);
        return builder.ToAnnotations();
    }

    /// <summary>The label key's values in key order (or "0".."C-1" when the key has none).</summary>
    internal static string[] ClassNamesOf(DataViewSchema.Column label, int classCount)
    {
        var kv = label.Annotations.Schema.GetColumnOrNull(AnnotationNames.KeyValues);
        if (kv is null) return Enumerable.Range(0, classCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var values = default(VBuffer<ReadOnlyMemory<char>>);
        label.Annotations.GetValue(AnnotationNames.KeyValues, ref values);
        var names = values.DenseValues().Select(v => v.ToString()).ToArray();
        if (names.Length != classCount)
            throw new ArgumentException($"Label column '{label.Name}' has {classCount} keys but {names.Length} key values.");
        return names;
    }

    private static nn.Module<Tensor, Tensor> CreateModel(Options o, TrainingData train, Device device)
    {
        var model = o.Architecture.Create(train.ClassCount);
        model.to(device);
        int[] s = train.ImageShape;
        try
        {
            model.eval();
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var output = model.forward(torch.zeros(1, s[0], s[1], s[2], device: device));
            if (output.dim() != 2 || output.shape[1] != train.ClassCount)
                throw new ArgumentException($"Architecture '{o.Architecture.Name}' maps a [1,{s[0]},{s[1]},{s[2]}] image to " +
                    $"[{string.Join(",", output.shape)}]; the trainer needs [1,{train.ClassCount}] logits (one per class of '{train.Label.Name}').");
        }
        catch (Exception ex) when (ex is not ArgumentException)
        {
            model.Dispose();
            throw new ArgumentException($"Architecture '{o.Architecture.Name}' fails on [{s[0]},{s[1]},{s[2]}] images from column '{train.Features.Name}': {ex.Message}", ex);
        }
        model.train();
        return model;
    }

    /// <summary>Fails before the first epoch when the trained network could not be saved (model.zip holds it as ONNX).</summary>
    private static void CheckExportable(Options o, nn.Module<Tensor, Tensor> model, TrainingData train)
    {
        try
        {
            Onnx.OnnxExporter.CheckExportable(model, train.ImageShape);
        }
        catch (Onnx.UnexportableModuleException e)
        {
            throw new ArgumentException($"Architecture '{o.Architecture.Name}': module '{e.ModulePath}' ({e.ModuleType.Name}) cannot be written to ONNX, " +
                $"so the trained model could not be saved as model.zip; build it from {Onnx.OnnxNetworkContext.SupportedModules} instead.", e);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
        {
            throw new ArgumentException($"Architecture '{o.Architecture.Name}' cannot be written to ONNX, so the trained model could not be saved as model.zip: {e.Message}", e);
        }
    }

    internal static void Validate(Options o)
    {
        if (string.IsNullOrWhiteSpace(o.LabelColumnName)) throw new ArgumentException("Options.LabelColumnName must name the key-typed label column.");
        if (string.IsNullOrWhiteSpace(o.FeatureColumnName)) throw new ArgumentException("Options.FeatureColumnName must name the image tensor column.");
        if (o.Architecture is null) throw new ArgumentException("Options.Architecture must be set (e.g. Architectures.ResNet18Chapter).");
        if (o.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(o.Epochs), o.Epochs, "Options.Epochs must be at least 1.");
        if (o.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(o.BatchSize), o.BatchSize, "Options.BatchSize must be at least 1.");
        if (!(o.MaxLearningRate > 0) || float.IsInfinity(o.MaxLearningRate))
            throw new ArgumentOutOfRangeException(nameof(o.MaxLearningRate), o.MaxLearningRate, "Options.MaxLearningRate must be a positive finite number.");
        if (!(o.PctStart > 0 && o.PctStart < 1)) throw new ArgumentOutOfRangeException(nameof(o.PctStart), o.PctStart, "Options.PctStart must lie strictly between 0 and 1.");
        if (!(o.Div > 0) || !(o.DivFinal > 0)) throw new ArgumentOutOfRangeException(nameof(o.Div), "Options.Div and Options.DivFinal must be positive.");
        if (!(o.WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(o.WeightDecay), o.WeightDecay, "Options.WeightDecay must be zero or positive.");
        if (o.Resume && o.CheckpointDirectory is null) throw new ArgumentException("Options.Resume needs Options.CheckpointDirectory.");
        if (o.Schedule is null) throw new ArgumentException("Options.Schedule must be set (TrainingSchedule.OneCycle or TrainingSchedule.FineTune(...)).");
        if (o.Schedule.IsFineTune && o.Resume) throw new ArgumentException("Options.Resume cannot continue a fine_tune run (two schedules); start it again or use InitialWeights.");
        if (!(o.LabelSmoothing >= 0 && o.LabelSmoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(o.LabelSmoothing), o.LabelSmoothing, "Options.LabelSmoothing (ε) must lie in [0, 1).");
        if (o.Callbacks.OfType<MixUp>().Any() && o.Callbacks.OfType<CutMix>().Any())
            throw new ArgumentException("Options.Callbacks holds both MixUp and CutMix: each mixes every training batch, so use one of them.");
        if (o.Metrics.Any(m => m is null) || o.Callbacks.Any(c => c is null)) throw new ArgumentException("Options.Metrics and Options.Callbacks must not hold null entries.");
        TrainingDevice.Resolve(o.Device);
    }
}
