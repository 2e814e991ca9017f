using ResNet.MLNet.Transforms;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// A prepared run: validated data, the seeded learner, the run's recorder and what the fitted transformer needs. Owns
/// the model until released.
/// </summary>
internal sealed class TrainingRun(Learner learner, Recorder recorder, TrainingData train, TrainingData? valid, int seed, long batchesPerEpoch,
    string[] classNames, TextWriter log, Device device) : IDisposable
{
    private bool _released;
    private bool _shuffleNoted;
    private bool _decodeNoted;

    public Learner Learner { get; } = learner;

    /// <summary>The run's recorder: history, smoothed loss and epoch table, across all its fits.</summary>
    public Recorder Recorder { get; } = recorder;

    public TrainingData Train { get; } = train;
    public TrainingData? Valid { get; } = valid;
    public int Seed { get; } = seed;
    public long BatchesPerEpoch { get; } = batchesPerEpoch;
    public string[] ClassNames { get; } = classNames;
    public TextWriter Log { get; } = log;
    public Device Device { get; } = device;

    /// <summary>
    /// Runs epochs <paramref name="startEpoch"/> to <paramref name="epochs"/> − 1 of the learner over the run's data with
    /// <paramref name="callbacks"/>, noting (once per run) when the data pipeline cannot shuffle or decodes every epoch.
    /// </summary>
    public void Fit(int epochs, int startEpoch, IEnumerable<LearnerCallback> callbacks, CancellationToken cancellation)
    {
        if (BatchesPerEpoch == 0)
            throw new ArgumentException($"{Train.Description} hold fewer rows than one batch (Options.BatchSize = {Learner.BatchSize}); " +
                "the last incomplete training batch is dropped, as fastai does. Lower BatchSize or add training rows.");
        NoteSelfShuffle();
        using var decodes = DecodeMetrics.ObserveTrainingPasses(NoteDecodingOnTrainingPass);
        Learner.Fit(Train, Valid, epochs, startEpoch, BatchesPerEpoch, Seed, callbacks, cancellation);
    }

    /// <summary>Hands the trained (eval-mode) model to the caller; it is no longer disposed with the run.</summary>
    public nn.Module<Tensor, Tensor> ReleaseModel()
    {
        _released = true;
        Learner.Model.eval();
        return Learner.Model;
    }

    /// <summary>
    /// Hands the trained bf16 working copy to the caller when training ran in bf16 (on a CPU whose bf16 kernels the step
    /// trial found faster), for batch scoring in the same precision; null otherwise.
    /// </summary>
    public nn.Module<Tensor, Tensor>? ReleaseBf16Scoring() =>
        Learner.Half is { DType: ScalarType.BFloat16 } half ? half.ReleaseWorking() : null;

    private void NoteSelfShuffle()
    {
        if (Train.View.CanShuffle || _shuffleNoted) return;
        _shuffleNoted = true;
        Log.WriteLine($"note: the training data view cannot shuffle; shuffling rows through a pool of {BatchReader.ShufflePoolRows(Train, Learner.BatchSize)} " +
            "(LoadPresizedImages, or AppendCacheCheckpoint, before the trainer gives a full shuffle).");
    }

    private void NoteDecodingOnTrainingPass()
    {
        if (_decodeNoted) return;
        _decodeNoted = true;
        Log.WriteLine("note: this training pass decodes the image files again: no cache lies between LoadImageFiles and the trainer, " +
            "so every epoch decodes every image. Use LoadPresizedImages (or ImageClassificationPreprocessing) in place of LoadImageFiles → " +
            "PresizeImages → ImagesToTensor, or put AppendCacheCheckpoint after ImagesToTensor in the same EstimatorChain as the trainer " +
            "(a chain appended as an IEstimator<ITransformer> is fitted as one step, and its checkpoints do not reach the trainer).");
    }

    public void Dispose()
    {
        Learner.Dispose();
        if (!_released) Learner.Model.Dispose();
    }
}
