using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>A prepared run: validated data, the seeded learner and what the fitted transformer needs. Owns the model until released.</summary>
internal sealed class TrainingRun(Learner learner, TrainingData train, TrainingData? valid, int seed, long batchesPerEpoch,
    string[] classNames, TextWriter log, Device device) : IDisposable
{
    private bool _released;

    public Learner Learner { get; } = learner;
    public TrainingData Train { get; } = train;
    public TrainingData? Valid { get; } = valid;
    public int Seed { get; } = seed;
    public long BatchesPerEpoch { get; } = batchesPerEpoch;
    public string[] ClassNames { get; } = classNames;
    public TextWriter Log { get; } = log;
    public Device Device { get; } = device;

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

    public void Dispose()
    {
        Learner.Dispose();
        if (!_released) Learner.Model.Dispose();
    }
}
