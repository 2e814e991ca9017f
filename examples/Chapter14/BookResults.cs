namespace Chapter14;

/// <summary>The chapter's published results (fastbook ch. 14, GPU), for the comparison table at the end.</summary>
internal static class BookResults
{
    public static IReadOnlyDictionary<string, (double Accuracy, double ValidLoss, string Setting)> ByExperiment { get; } =
        new Dictionary<string, (double, double, string)>
        {
            ["A"] = (0.659, 1.093, "imagenette2-160 @128, 5 ep"),
            ["B"] = (0.668, 1.038, "imagenette2-160 @128, 5 ep"),
            ["C"] = (0.693, 0.964, "imagenette2-160 @128, 5 ep"),
            ["D"] = (0.757, 0.783, "imagenette2-160 @128, 5 ep"),
            ["E"] = (0.873, 0.412, "imagenette2-320 @224, 20 ep"),
        };
}
