using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>fastai's <c>freeze</c> and <c>unfreeze</c> over a network's parameter groups (<see cref="Modules.IParameterGroups"/>), as fine_tune uses them.</summary>
internal static class ParameterFreezing
{
    /// <summary>Only the last parameter group (the head) and BatchNorm layers train (fastai's <c>train_bn</c>).</summary>
    public static void Freeze(Learner learner) =>
        SetTrainable(learner, frozenGroups: ((Modules.IParameterGroups)learner.Model).ParameterGroups.Count - 1);

    /// <summary>Every parameter trains.</summary>
    public static void Unfreeze(Learner learner) => SetTrainable(learner, frozenGroups: 0);

    private static void SetTrainable(Learner learner, int frozenGroups)
    {
        var model = learner.Model;
        var frozen = new HashSet<string>();
        var groups = model is Modules.IParameterGroups split ? split.ParameterGroups : [];
        var names = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        for (int g = 0; g < frozenGroups; g++)
            foreach (var module in groups[g])
                foreach (var (_, sub) in module.named_modules())
                    if (!FastaiAdam.IsNormalization(sub))
                        foreach (var p in sub.parameters(recurse: false)) frozen.Add(names[p.Handle]);
        foreach (var network in learner.Half is null ? [model] : new nn.Module<Tensor, Tensor>[] { model, learner.Half.Working })
            foreach (var (name, p) in network.named_parameters())
                p.requires_grad_(!frozen.Contains(name));
    }
}
