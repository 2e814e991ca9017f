using ResNet.MLNet.Modules;

namespace Chapter14;

/// <summary>One of the chapter's experiments: a model, its image sizes and its training settings.</summary>
internal sealed record Experiment(string Id, string Title, Architecture Architecture, int Presize, int Size, int Epochs, float MaxLearningRate);
