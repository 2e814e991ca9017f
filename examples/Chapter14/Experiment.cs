using ResNet.MLNet.Modules;

namespace Chapter14;

/// <summary>
/// One of the chapter's experiments: a model, its image sizes and its training settings. With <see cref="EpochCost"/> set,
/// its epochs are sized by the time budget, an epoch estimated as <c>Factor</c> times an epoch of experiment <c>Of</c>.
/// </summary>
internal sealed record Experiment(string Id, string Title, Architecture Architecture, int Presize, int Size, int Epochs, float MaxLearningRate,
    (string Of, double Factor)? EpochCost = null);
