using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's <c>MixUp</c>, on training batches only: per sample λ ~ Beta(α, α), λ = max(λ, 1 − λ), a partner from the
/// shuffled batch; the input becomes λ·x + (1 − λ)·x_partner and the loss λ·loss(y) + (1 − λ)·loss(y_partner) per
/// sample, then the mean. Draws come from the run's seed.
/// </summary>
public sealed class MixUp : LearnerCallback
{
    private Tensor? _lambda;
    private Tensor? _partnerTarget;

    /// <summary>Mixes with λ ~ Beta(<paramref name="alpha"/>, <paramref name="alpha"/>) (fastai's default 0.4).</summary>
    public MixUp(double alpha = 0.4)
    {
        if (!(alpha > 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "MixUp's α must be a positive number.");
        Alpha = alpha;
    }

    /// <summary>The Beta distribution's parameter.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override bool RunsInValidation => false;

    /// <inheritdoc />
    public override void BeforeBatch(LearnerState state)
    {
        var x = state.Input!;
        int n = (int)x.shape[0];
        var lambdas = new float[n];
        for (int i = 0; i < n; i++)
        {
            double l = BetaDistribution.Sample(state.Random, Alpha);
            lambdas[i] = (float)Math.Max(l, 1 - l);
        }
        var shuffle = tensor(Permutation(state.Random, n), device: x.device);
        _lambda = tensor(lambdas, device: x.device);
        _partnerTarget = state.Target!.index_select(0, shuffle);
        var weight = _lambda.view(n, 1, 1, 1);
        state.Input = x.mul(weight).add(x.index_select(0, shuffle).mul(weight.neg().add(1)));
    }

    /// <inheritdoc />
    public override void AfterLoss(LearnerState state)
    {
        if (_lambda is null) return;
        var own = state.PerSampleLoss(state.Prediction!, state.Target!);
        var partner = state.PerSampleLoss(state.Prediction!, _partnerTarget!);
        state.Loss = own.mul(_lambda).add(partner.mul(_lambda.neg().add(1))).mean();
    }

    /// <inheritdoc />
    public override void AfterBatch(LearnerState state) => _lambda = _partnerTarget = null;

    /// <summary>A uniformly random permutation of 0..n−1 (Fisher–Yates).</summary>
    internal static long[] Permutation(Random random, int n)
    {
        var p = new long[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}
