using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;

namespace ResNet.MLNet.Training;

public sealed partial class ResNetTrainer
{
    /// <summary>
    /// Options of <see cref="ResNetTrainer"/>. Names follow ML.NET's trainers (<c>LabelColumnName</c>,
    /// <c>FeatureColumnName</c>, <c>BatchSize</c>, <c>ValidationSet</c>, <c>MetricsCallback</c>) and fastai's where
    /// ML.NET has none (<c>MaxLearningRate</c>, <c>PctStart</c>, <c>Div</c>, <c>DivFinal</c>, <c>WeightDecay</c>).
    /// </summary>
    public sealed class Options
    {
        /// <summary>Key-typed label column (e.g. from <c>MapValueToKey</c>). Default "Label".</summary>
        public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

        /// <summary>
        /// Image tensor column, <c>Vector&lt;Single, 3, H, W&gt;</c> with known sizes. Default "Pixels", the column
        /// <c>ImageClassificationPreprocessing</c> and <c>ImagesToTensor</c> write.
        /// </summary>
        public string FeatureColumnName { get; set; } = DefaultColumnNames.Pixels;

        /// <summary>
        /// Boolean splitter column of the training data (fastai's splitter): rows with <c>true</c> form the validation set,
        /// the others are trained on. Default "IsValid", the column <c>LoadImageFolder</c> writes; data without it is refused.
        /// Set null to train on every row without validation, or use <see cref="ValidationSet"/>.
        /// </summary>
        public string? ValidationColumnName { get; set; } = DefaultValidationColumnName;

        /// <summary>The default <see cref="ValidationColumnName"/>: "IsValid".</summary>
        public const string DefaultValidationColumnName = DefaultColumnNames.IsValid;

        /// <summary>
        /// A separate, already-preprocessed validation view (as ML.NET's ImageClassificationTrainer takes it). The training
        /// data then must not hold a <see cref="ValidationColumnName"/> column (set that to null to train on all its rows).
        /// </summary>
        public IDataView? ValidationSet { get; set; }

        /// <summary>The network to train: an <see cref="Architectures"/> entry or your own <see cref="Architecture"/>.</summary>
        public Architecture Architecture { get; set; } = Architectures.ResNet18Chapter;

        /// <summary>Epochs of <c>fit_one_cycle</c> (of <c>fine_tune</c>, the epochs after the frozen ones). Default 5.</summary>
        public int Epochs { get; set; } = Defaults.Epochs;

        /// <summary>Peak learning rate of the one-cycle schedule (fastai <c>lr_max</c>). Default 1e-3.</summary>
        public float MaxLearningRate { get; set; } = Defaults.MaxLearningRate;

        /// <summary>Fraction of the iterations spent warming up. Default 0.25.</summary>
        public float PctStart { get; set; } = 0.25f;

        /// <summary>The schedule starts at <c>MaxLearningRate / Div</c>. Default 25.</summary>
        public float Div { get; set; } = 25f;

        /// <summary>The schedule ends at <c>MaxLearningRate / DivFinal</c>. Default 1e5.</summary>
        public float DivFinal { get; set; } = 1e5f;

        /// <summary>Rows per batch. Default 64 (fastai's default).</summary>
        public int BatchSize { get; set; } = Defaults.BatchSize;

        /// <summary>Decoupled weight decay (not applied to BatchNorm parameters or biases). Default 0.01.</summary>
        public float WeightDecay { get; set; } = 0.01f;

        /// <summary>
        /// fastai's <c>to_fp16</c>: a half-precision working copy of the network (normalisation layers, the loss and the
        /// master weights stay fp32) with dynamic loss scaling. fp16 on CUDA. On a CPU with native bf16 (AVX512-BF16 or
        /// AMX-BF16) a timed trial picks bf16 or fp32, whichever steps faster (see <see cref="ChannelsLast"/>); on other
        /// CPUs the trainer trains in fp32 and says so.
        /// </summary>
        public bool MixedPrecision { get; set; }

        /// <summary>
        /// Feed image batches to the network in channels-last (NHWC) memory layout: training, validation, the LR finder and
        /// the fitted model's batch <c>Transform</c> (single-row PredictionEngine calls stay NCHW). Results are unchanged up
        /// to float rounding; on the CPU libtorch's oneDNN convolutions are often faster on NHWC data, but not for every
        /// network and batch. Null (default): on the CPU, before the first epoch, a few steps of throwaway copies of the
        /// network are timed in both layouts (and in fp32 and bf16 where <see cref="MixedPrecision"/> allows both) and the
        /// fastest is kept; the choice is logged and recorded in <c>step-trials.json</c> in the dataset cache folder (or the
        /// file named by <c>RESNET_MLNET_STEP_TRIALS</c>), so later runs of the same network, batch and machine reuse it and a
        /// seed repeats a run exactly. Off for CUDA (not measured there) and for networks with 1×1 convolutions of 1024+
        /// channels (e.g. ResNet50Chapter), which libtorch 2.10 cannot run channels-last on several CPU threads (true is
        /// refused for them with a clear error).
        /// </summary>
        public bool? ChannelsLast { get; set; }

        /// <summary>"auto" (CUDA when available), "cpu", "cuda" or "cuda:N". Default "auto".</summary>
        public string Device { get; set; } = Defaults.Device;

        /// <summary>Seed for weight initialisation and shuffling/augmentation; the same seed repeats a CPU run. Null: random.</summary>
        public int? Seed { get; set; }

        /// <summary>
        /// fastai's <c>LabelSmoothingCrossEntropy</c> ε: the loss becomes (1 − ε)·nll + ε·mean(−Σ log p)/C (fastai uses 0.1).
        /// Default 0: plain cross-entropy.
        /// </summary>
        public float LabelSmoothing { get; set; }

        /// <summary>Validation metrics besides accuracy, e.g. <see cref="ErrorRate"/> or <see cref="TopKAccuracy"/>: table columns and <see cref="EpochMetrics.Metrics"/>.</summary>
        public IList<Metric> Metrics { get; set; } = [];

        /// <summary>
        /// Weights to start from instead of random ones: <see cref="StartingWeights.ImageNet"/> (the packaged ImageNet body of
        /// <see cref="Architectures.ImageNetResNet18"/>), <see cref="StartingWeights.PyTorch"/> (a state dict of the same
        /// network; the head starts fresh), or <see cref="StartingWeights.Trained(Scoring.ResNetTransformer)"/> (a fitted model, a
        /// model.zip or a checkpoint, continued whole: fastai's progressive resizing). Null (default): random weights.
        /// </summary>
        public StartingWeights? InitialWeights { get; set; }

        /// <summary>How the epochs are spent: <see cref="TrainingSchedule.OneCycle"/> (default) or <see cref="TrainingSchedule.FineTune"/>.</summary>
        public TrainingSchedule Schedule { get; set; } = TrainingSchedule.OneCycle;

        /// <summary>
        /// Recipes and your own <see cref="LearnerCallback"/>s, run with the built-in ones on every event of the training loop:
        /// e.g. <c>{ new MixUp(0.4), new SaveBestModel("valid_loss"), new EarlyStopping(patience: 3) }</c>
        /// (<see cref="Training.MixUp"/>, <see cref="Training.CutMix"/>, <see cref="GradientAccumulation"/>,
        /// <see cref="Training.SaveBestModel"/>, <see cref="EarlyStopping"/>).
        /// </summary>
        public IList<LearnerCallback> Callbacks { get; set; } = [];

        /// <summary>Called with each epoch's metrics (ML.NET's <c>MetricsCallback</c>).</summary>
        public Action<EpochMetrics>? MetricsCallback { get; set; }

        /// <summary>Where the epoch table goes; <see cref="Console.Out"/> when null. <see cref="TextWriter.Null"/> silences it.</summary>
        public TextWriter? Log { get; set; }

        /// <summary>Draw a live progress bar while training (only when the log is a console that is not redirected). Default true.</summary>
        public bool ShowProgressBar { get; set; } = true;

        /// <summary>Folder for a checkpoint written atomically after every epoch; null: no checkpoints.</summary>
        public string? CheckpointDirectory { get; set; }

        /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/> when one exists.</summary>
        public bool Resume { get; set; }

        /// <summary>Half-precision type used on the CPU when <see cref="MixedPrecision"/> is set, without a trial (tests force bf16); null: chosen by the trial.</summary>
        internal TorchSharp.torch.ScalarType? CpuHalfPrecision { get; set; }

        /// <summary>Where step-trial decisions are recorded; null: <see cref="StepTrialRecords.Default"/>.</summary>
        internal StepTrialRecords? StepTrialRecords { get; set; }

        /// <summary>Called after every training batch with (epoch, batch, loss); used by tests.</summary>
        internal Action<int, int, double>? AfterBatch { get; set; }

        /// <summary>Stops training between batches (throws <see cref="OperationCanceledException"/>).</summary>
        public CancellationToken CancellationToken { get; set; }
    }
}
