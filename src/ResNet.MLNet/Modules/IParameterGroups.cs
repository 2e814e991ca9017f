using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// A network split into parameter groups, body first and head last (fastai's <c>splitter</c>): fine-tuning trains only
/// the last group at first (BatchNorm layers excepted) and then spreads learning rates over the groups.
/// </summary>
public interface IParameterGroups
{
    /// <summary>The groups' modules, from the input side to the head.</summary>
    IReadOnlyList<nn.Module[]> ParameterGroups { get; }
}
