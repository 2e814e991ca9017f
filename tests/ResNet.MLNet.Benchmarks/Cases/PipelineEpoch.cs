using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>A pipeline fitted by <see cref="PipelineEpoch"/>, reused by the scoring section.</summary>
public sealed record FittedPipeline(MLContext Ml, ImageFolder Data, ITransformer Model, ResNetTransformer Trainer);

/// <summary>
/// (2) The full pipeline's training epoch — ImageClassificationPreprocessing (LoadPresizedImages(160) in memory →
/// AugmentImages(128) → NormalizeImages) → ResNet trainer, batch 128 — on the project's synthetic dataset. The first epoch
/// is not counted; the later epochs' durations (the trainer's history, no validation set,
/// so training only) give images/s. After every epoch (in the trainer's epoch callback, outside the epoch's duration) one
/// run of the raw step (<see cref="RawStepRunner"/>, same model, batch and size) is timed, so pipeline / raw step is the
/// median of per-epoch ratios taken in the same machine state.
/// (5) Peak RSS over the fit and the decoded-image cache's size per pixel and channel.
/// </summary>
public static class PipelineEpoch
{
    public const string Section = "2 pipeline-epoch";
    public const string MemorySection = "5 memory";
    public const int Batch = 128;
    public const int Presize = 160;
    public const int Size = 128;

    /// <summary>The dataset: 4 classes × 128 training images (4 batches of 128), 160–200 px JPEGs.</summary>
    public static ImageFolder Dataset(MLContext ml, string output)
    {
        string root = SyntheticImages.GetOrCreate(new SyntheticImagesOptions
        {
            ClassCount = 4, TrainImagesPerClass = 128, ValidImagesPerClass = 16, MinSize = 160, MaxSize = 200, Seed = 9,
        }, Path.Combine(output, "data"));
        return ml.Data.LoadImageFolder(root, validName: "val");
    }

    /// <summary>The chapter's pipeline up to the trainer, images decoded once in memory.</summary>
    private static EstimatorChain<ITransformer> Preprocessing(MLContext ml) =>
        ml.Transforms.ImageClassificationPreprocessing(new ImagePreprocessingOptions { Presize = Presize, Size = Size, MinScale = 0.5f });

    /// <summary>Fits the chain with <paramref name="epochs"/> epochs and returns it with the trainer's transformer.</summary>
    /// <param name="channelsLast">The memory layout; null lets the trainer time both on its first steps.</param>
    public static FittedPipeline Fit(Architecture architecture, int epochs, string output, Action<EpochMetrics>? afterEpoch = null, bool? channelsLast = null)
    {
        var ml = new MLContext(seed: 0);
        var data = Dataset(ml, output);
        var pipeline = Preprocessing(ml)
            .Append(ml.MulticlassClassification.Trainers.ResNet(new ResNetTrainer.Options
            {
                FeatureColumnName = "Pixels", ValidationColumnName = null, Architecture = architecture, Epochs = epochs, MaxLearningRate = 1e-3f,
                BatchSize = Batch, Device = "cpu", Seed = 0, Log = TextWriter.Null, ShowProgressBar = false, MetricsCallback = afterEpoch,
                ChannelsLast = channelsLast,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(data.Train);
        var trainer = model.OfType<ResNetTransformer>().Single();
        return new FittedPipeline(ml, data, model, trainer);
    }

    public static FittedPipeline Run(ResultTable table, Architecture architecture, int epochs, string output)
    {
        using var raw = new RawStepRunner(architecture, Batch, Size);
        var rawRuns = new List<double>();
        PeakMemory.Reset();
        double before = PeakMemory.CurrentMiB();
        // The layout the trainer's tuner chose for this model and batch (in the raw runner), so no timed epoch contains tuning steps.
        var fitted = Fit(architecture, epochs, output, _ => rawRuns.Add(raw.ImagesPerSecond(raw.Run())), raw.ChannelsLast);
        double peak = PeakMemory.PeakMiB();
        string name = RawTrainingStep.CaseName(architecture, Batch, Size);
        long rows = fitted.Data.TrainCount / Batch * Batch;
        var measured = fitted.Trainer.History.Skip(1).Select(m => m.Duration.TotalSeconds).ToArray();
        var sample = new Sample(measured);
        double imagesPerSecond = rows / sample.Median;
        double firstEpoch = fitted.Trainer.History[0].Duration.TotalSeconds;
        table.Add(new Result(Section, name, "images/s", imagesPerSecond, "img/s",
            $"±{sample.SpreadPercent:F1}% over {measured.Length} epochs of {rows} images; first epoch {firstEpoch:F1} s (images decoded before it, at Fit)"));
        table.Add(new Result(MemorySection, name, "peak RSS during fit", peak, "MiB",
            $"RSS before fit {before:F0} MiB (peak − before {peak - before:F0} MiB); includes the raw step timed between epochs"));
        var rawSample = new Sample(rawRuns.Skip(1).ToArray());
        table.Add(new Result(Section, name, "raw step between epochs", rawRuns.Count > 1 ? rawSample.Median : double.NaN, "img/s",
            $"±{rawSample.SpreadPercent:F1}%, one run of {raw.Steps} steps after each epoch; layout {(raw.ChannelsLast ? "channels-last" : "NCHW")} (the trainer's tuned choice) on both sides"));
        var paired = new Sample(fitted.Trainer.History.Skip(1).Zip(rawRuns.Skip(1), (m, r) => rows / m.Duration.TotalSeconds / r).ToArray());
        table.Add(new Result("ratio", name, "pipeline / raw step", paired.Median, "×",
            $"target ≥ 0.95; median of {paired.Seconds.Count} epochs, each against the raw step run right after it (range {paired.Min:F2}–{paired.Max:F2})"));
        return fitted;
    }

    /// <summary>
    /// The training pass's data side alone: the same chain up to NormalizeImages read through the trainer's batch reader
    /// (cache → augmentation → normalisation → batch tensors) with no model — the work the reader thread overlaps with
    /// the training step. Its images/s bounds the pipeline epoch from above.
    /// </summary>
    public static void DataOnly(ResultTable table, int epochs, string output)
    {
        var ml = new MLContext(seed: 0);
        var data = Dataset(ml, output);
        var stages = Preprocessing(ml).Fit(data.Train).ToArray();   // decodes once, into the image cache
        var cached = stages[1].Transform(stages[0].Transform(data.Train));
        var augmented = stages[2].Transform(cached);
        var view = stages[3].Transform(augmented);
        foreach (var (stage, stageView, isByte) in new[] { ("cache rows", cached, true), ("+ AugmentImages", augmented, false), ("+ NormalizeImages", view, false) })
        {
            var stageSample = Sample.Measure(() => { if (isByte) ReadPass<byte>(stageView, 1); else ReadPass<float>(stageView, 1); }, warmup: 1, runs: epochs - 1);
            table.Add(new Result(Section, $"data stage: {stage}", "images/s", data.TrainCount / stageSample.Median, "img/s",
                $"training-pass cursor over {data.TrainCount} rows, Pixels read, ±{stageSample.SpreadPercent:F1}%"));
        }
        var train = TrainingData.Create(view, "Pixels", "Label", null, keepWhen: false, "the benchmark rows", "The benchmark data");
        long rows = 0;
        var seconds = new List<double>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            rows = 0;
            using var reader = new BatchReader(train, Batch, BatchReader.EpochRandom(0, epoch), dropLast: true, "benchmark", CancellationToken.None, BatchReader.DefaultPrefetch(TorchSharp.DeviceType.CPU));
            foreach (var batch in reader.Batches())
                using (batch) rows += batch.Count;
            if (epoch > 0) seconds.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        var sample = new Sample(seconds);
        table.Add(new Result(Section, $"data stage: + batch reader (data only)", "images/s", rows / sample.Median, "img/s",
            $"±{sample.SpreadPercent:F1}% over {seconds.Count} epochs of {rows} images: cache → augment → normalise → batch tensors, no model"));
    }

    private static void ReadPass<T>(IDataView view, int seed)
    {
        var column = view.Schema["Pixels"];
        using var cursor = view.GetRowCursor([column], new Random(seed));
        var getter = cursor.GetGetter<VBuffer<T>>(column);
        var value = default(VBuffer<T>);
        while (cursor.MoveNext()) getter(ref value);
    }

    /// <summary>Bytes per pixel per channel of the cached column (ImagesToTensor's output) and the cache's total size.</summary>
    public static void CacheSize(ResultTable table, FittedPipeline fitted)
    {
        var chain = (IEnumerable<ITransformer>)fitted.Model;
        var upToTensor = chain.TakeWhile(t => t is not AugmentImagesTransformer).ToArray();
        var schema = fitted.Data.Train.Schema;
        foreach (var t in upToTensor) schema = t.GetOutputSchema(schema);
        var type = (VectorDataViewType)schema["Pixels"].Type;
        int itemBytes = type.ItemType.RawType == typeof(byte) ? 1 : System.Runtime.InteropServices.Marshal.SizeOf(type.ItemType.RawType);
        long valuesPerImage = type.Size;
        long total = valuesPerImage * itemBytes * fitted.Data.TrainCount;
        table.Add(new Result(MemorySection, $"cache {type}", "bytes per pixel per channel", itemBytes, "B", "target ≤ 1"));
        table.Add(new Result(MemorySection, $"cache {type}", "cached pixels", total / 1048576.0, "MiB",
            $"{fitted.Data.TrainCount} images × {valuesPerImage} values"));
    }
}
