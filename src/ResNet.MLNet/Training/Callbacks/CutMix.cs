using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>CutMix</c>, on training batches only: one λ ~ Beta(α, α) per batch gives a box of sides W·√(1 − λ) and
/// H·√(1 − λ) around a random centre (clipped to the image), filled from the shuffled batch; λ is then recomputed as
/// 1 − box area / image area, and the loss is λ·loss(y) + (1 − λ)·loss(y_partner) per sample, then the mean.
/// </summary>
public sealed class CutMix : LearnerCallback
{
    private double _lambda;
    private Tensor? _partnerTarget;

    /// <summary>Cuts with λ ~ Beta(<paramref name="alpha"/>, <paramref name="alpha"/>) (fastai's default 1).</summary>
    public CutMix(double alpha = 1)
    {
        if (!(alpha > 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "CutMix's α must be a positive number.");
        Alpha = alpha;
    }

    /// <summary>The Beta distribution's parameter.</summary>
    public double Alpha { get; }

    /// <summary>The last training batch's box (left, top, right, bottom; right and bottom exclusive) and λ.</summary>
    public (int Left, int Top, int Right, int Bottom, double Lambda) LastBox { get; private set; }

    /// <inheritdoc />
    public override bool RunsInValidation => false;

    /// <inheritdoc />
    public override void BeforeBatch(LearnerState state)
    {
        var x = state.Input!;
        int n = (int)x.shape[0], h = (int)x.shape[2], w = (int)x.shape[3];
        double lambda = BetaDistribution.Sample(state.Random, Alpha);
        double cut = Math.Sqrt(1 - lambda);
        int cutW = (int)(w * cut), cutH = (int)(h * cut);
        int cx = state.Random.Next(w), cy = state.Random.Next(h);
        int left = Math.Clamp(cx - cutW / 2, 0, w), top = Math.Clamp(cy - cutH / 2, 0, h);
        int right = Math.Clamp(cx + cutW / 2, 0, w), bottom = Math.Clamp(cy + cutH / 2, 0, h);
        var shuffle = tensor(MixUp.Permutation(state.Random, n), device: x.device);
        _partnerTarget = state.Target!.index_select(0, shuffle);
        _lambda = 1 - (double)(right - left) * (bottom - top) / (w * h);
        LastBox = (left, top, right, bottom, _lambda);
        if (right > left && bottom > top)
        {
            var mixed = x.clone();
            mixed.narrow(2, top, bottom - top).narrow(3, left, right - left)
                .copy_(x.index_select(0, shuffle).narrow(2, top, bottom - top).narrow(3, left, right - left));
            state.Input = mixed;
        }
    }

    /// <inheritdoc />
    public override void AfterLoss(LearnerState state)
    {
        if (_partnerTarget is null) return;
        var own = state.PerSampleLoss(state.Prediction!, state.Target!);
        var partner = state.PerSampleLoss(state.Prediction!, _partnerTarget);
        state.Loss = own.mul(_lambda).add(partner.mul(1 - _lambda)).mean();
    }

    /// <inheritdoc />
    public override void AfterBatch(LearnerState state) => _partnerTarget = null;
}
