namespace ResNet.MLNet.Training;

/// <summary>
/// What fastai's <c>lr_find</c> records: the learning rate and smoothed training loss of every iteration, and the
/// suggestions computed from them (skipping the first 10% of the planned iterations and the last 5 points, as fastai does).
/// </summary>
public sealed class LearningRateFinderResult
{
    internal LearningRateFinderResult(double[] learningRates, double[] losses, int plannedIterations)
    {
        LearningRates = Array.AsReadOnly(learningRates);
        Losses = Array.AsReadOnly(losses);
        int skip = plannedIterations / 10;
        int end = learningRates.Length - 5;
        if (end - skip < 2)
            throw new InvalidOperationException($"The LR range test stopped after {learningRates.Length} iterations, too few for a suggestion " +
                "(it needs the first 10% plus 5 more plus at least 2): the loss diverged immediately. Lower the start learning rate or check the data.");
        var lrs = learningRates[skip..end];
        var l = losses[skip..end];
        int nan = Array.FindIndex(l, v => !double.IsFinite(v));
        if (nan >= 0)
        {
            if (nan < 2) throw new InvalidOperationException("The LR range test produced non-finite losses from the start; no suggestion is possible.");
            lrs = lrs[..nan];
            l = l[..nan];
        }
        int valley = ValleyIndex(l);
        Valley = lrs[valley];
        ValleyLoss = l[valley];
        int min = Array.IndexOf(l, l.Min());
        Minimum = lrs[min] / 10;
        MinimumLoss = l[min];
        int steep = SteepIndex(lrs, l);
        Steep = lrs[steep];
        SteepLoss = l[steep];
    }

    /// <summary>Learning rate of each iteration (exponentially spaced).</summary>
    public IReadOnlyList<double> LearningRates { get; }

    /// <summary>Smoothed training loss after each iteration (fastai's recorder values).</summary>
    public IReadOnlyList<double> Losses { get; }

    /// <summary>The valley suggestion (fastai's default).</summary>
    public double Valley { get; }

    /// <summary>The loss at the valley point.</summary>
    public double ValleyLoss { get; }

    /// <summary>The learning rate at the lowest loss, divided by 10.</summary>
    public double Minimum { get; }

    /// <summary>The lowest loss (plotted at 10 × <see cref="Minimum"/>).</summary>
    public double MinimumLoss { get; }

    /// <summary>The learning rate with the steepest loss descent (measured over a tenth of the curve, so the flat start's noise does not count).</summary>
    public double Steep { get; }

    /// <summary>The loss at the steep point.</summary>
    public double SteepLoss { get; }

    /// <summary>The suggested learning rate of the given kind.</summary>
    public double Suggestion(LearningRateSuggestion kind = LearningRateSuggestion.Valley) => kind switch
    {
        LearningRateSuggestion.Minimum => Minimum,
        LearningRateSuggestion.Steep => Steep,
        _ => Valley,
    };

    /// <summary>The point (learning rate, loss) on the curve that marks the suggestion.</summary>
    public (double LearningRate, double Loss) SuggestionPoint(LearningRateSuggestion kind = LearningRateSuggestion.Valley) => kind switch
    {
        LearningRateSuggestion.Minimum => (Minimum * 10, MinimumLoss),
        LearningRateSuggestion.Steep => (Steep, SteepLoss),
        _ => (Valley, ValleyLoss),
    };

    /// <summary>
    /// fastai's valley: the longest run of decreasing losses (longest decreasing subsequence ending at each point), then
    /// the point a third plus a sixth of the way along it.
    /// </summary>
    internal static int ValleyIndex(IReadOnlyList<double> losses)
    {
        int n = losses.Count;
        var runs = new int[n];
        Array.Fill(runs, 1);
        int maxStart = 0, maxEnd = 0;
        for (int i = 1; i < n; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (losses[i] < losses[j] && runs[i] < runs[j] + 1) runs[i] = runs[j] + 1;
                if (runs[maxEnd] < runs[i])
                {
                    maxEnd = i;
                    maxStart = maxEnd - runs[maxEnd];
                }
            }
        }
        double sections = (maxEnd - maxStart) / 3.0;
        return Math.Clamp(maxStart + (int)sections + (int)(sections / 2), 0, n - 1);
    }

    /// <summary>
    /// Index of the steepest descent: the middle of the window of <see cref="SteepWindow"/> points whose loss falls fastest
    /// per unit of log learning rate. A window, rather than fastai's neighbouring points, keeps the noise of the flat start
    /// (where consecutive smoothed losses wobble over a tiny step) from outranking the real descent.
    /// </summary>
    internal static int SteepIndex(IReadOnlyList<double> lrs, IReadOnlyList<double> losses)
    {
        int window = Math.Min(SteepWindow(losses.Count), losses.Count - 1);
        int best = 0;
        double bestSlope = double.PositiveInfinity;
        for (int i = 0; i + window < losses.Count; i++)
        {
            double slope = (losses[i + window] - losses[i]) / (Math.Log(lrs[i + window]) - Math.Log(lrs[i]));
            if (slope < bestSlope)
            {
                bestSlope = slope;
                best = i + window / 2;
            }
        }
        return best;
    }

    /// <summary>Points spanned by one slope of the steep suggestion: a tenth of the curve, at least one.</summary>
    internal static int SteepWindow(int points) => Math.Max(1, points / 10);
}
