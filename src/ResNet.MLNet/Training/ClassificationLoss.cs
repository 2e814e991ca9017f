using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// The trainer's loss per sample: cross-entropy, or with <paramref name="labelSmoothing"/> ε &gt; 0 fastai's
/// <c>LabelSmoothingCrossEntropy</c>, (1 − ε)·(−log p_y) + ε·(−Σ_c log p_c)/C, whose batch mean is fastai's
/// ε·mean(−Σ log p)/C + (1 − ε)·nll. Computed in fp32 whatever the logits' precision.
/// </summary>
internal sealed class ClassificationLoss(double labelSmoothing)
{
    public double LabelSmoothing { get; } = labelSmoothing is >= 0 and < 1 ? labelSmoothing
        : throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing ε must lie in [0, 1).");

    /// <summary>The loss of each sample, <c>[N]</c>.</summary>
    public Tensor PerSample(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var logProbabilities = logits.to(ScalarType.Float32).log_softmax(1);
        var nll = logProbabilities.gather(1, target.unsqueeze(1)).squeeze(1).neg();
        if (LabelSmoothing == 0) return nll.MoveToOuterDisposeScope();
        var spread = logProbabilities.sum(1).neg().div(logits.shape[1]);
        return nll.mul(1 - LabelSmoothing).add(spread.mul(LabelSmoothing)).MoveToOuterDisposeScope();
    }
}
