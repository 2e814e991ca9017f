using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// Adam as fastai defines it: decoupled weight decay <c>p ← p·(1 − lr·wd)</c> applied before the step (only to
/// parameters in the decay group), first and second moments with dampening, bias correction <c>1 − β^step</c>
/// and <c>eps</c> added after the square root. β1 is passed per step so the one-cycle schedule can drive it.
/// Parameters belong to groups (<see cref="Modules.IParameterGroups"/>); each group's learning rate is the step's times its
/// multiplier (fastai's discriminative learning rates). Parameters without a gradient (frozen) are not stepped.
/// </summary>
internal sealed class FastaiAdam : IDisposable
{
    private readonly Slot[] _slots;

    /// <param name="parameters">Each parameter with whether weight decay applies to it and its group.</param>
    /// <param name="beta2">Second-moment decay (fastai 0.99).</param>
    /// <param name="eps">Added after the square root (fastai 1e-5).</param>
    /// <param name="weightDecay">Decoupled weight decay (fastai 0.01).</param>
    public FastaiAdam(IEnumerable<(Tensor Parameter, bool Decay, int Group)> parameters, double beta2 = 0.99, double eps = 1e-5, double weightDecay = 0.01)
    {
        _slots = parameters.Select(p => new Slot(p.Parameter, p.Decay, p.Group)).ToArray();
        GroupMultipliers = Enumerable.Repeat(1.0, _slots.Length == 0 ? 1 : _slots.Max(s => s.Group) + 1).ToArray();
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>Each parameter group's learning rate relative to the step's (all 1 unless set).</summary>
    public double[] GroupMultipliers { get; private set; }

    /// <summary>Number of parameter groups.</summary>
    public int GroupCount => GroupMultipliers.Length;

    /// <summary>Sets the groups' learning-rate multipliers (one per group, body first).</summary>
    public void SetGroupMultipliers(IReadOnlyList<double> multipliers)
    {
        if (multipliers.Count != GroupCount)
            throw new ArgumentException($"Expected {GroupCount} learning-rate multipliers, one per parameter group; got {multipliers.Count}.", nameof(multipliers));
        GroupMultipliers = multipliers.ToArray();
    }

    /// <summary>Number of parameters in the decay group and in the no-decay group.</summary>
    public (int Decay, int NoDecay) GroupSizes => (_slots.Count(s => s.Decay), _slots.Count(s => !s.Decay));

    /// <summary>
    /// Splits a module's parameters the way fastai does: no weight decay on normalisation layers or biases; the group is
    /// the parameter's <see cref="Modules.IParameterGroups"/> group (0 for a module without groups).
    /// </summary>
    public static IEnumerable<(Tensor Parameter, bool Decay, int Group)> Groups(nn.Module module)
    {
        var normParameters = new HashSet<IntPtr>();
        foreach (var (_, sub) in module.named_modules())
            if (IsNormalization(sub))
                foreach (var p in sub.parameters(recurse: false)) normParameters.Add(p.Handle);
        var groupOf = new Dictionary<IntPtr, int>();
        if (module is Modules.IParameterGroups split)
            for (int g = 0; g < split.ParameterGroups.Count; g++)
                foreach (var m in split.ParameterGroups[g])
                    foreach (var p in m.parameters()) groupOf[p.Handle] = g;
        foreach (var (name, p) in module.named_parameters())
        {
            if (!p.requires_grad) continue;
            bool isBias = name == "bias" || name.EndsWith(".bias", StringComparison.Ordinal);
            yield return (p, !isBias && !normParameters.Contains(p.Handle), groupOf.GetValueOrDefault(p.Handle));
        }
    }

    public static bool IsNormalization(nn.Module m) => m is TorchSharp.Modules.BatchNorm1d or TorchSharp.Modules.BatchNorm2d
        or TorchSharp.Modules.BatchNorm3d or TorchSharp.Modules.InstanceNorm1d or TorchSharp.Modules.InstanceNorm2d
        or TorchSharp.Modules.InstanceNorm3d or TorchSharp.Modules.LayerNorm or TorchSharp.Modules.GroupNorm;

    /// <summary>One optimiser step with learning rate <paramref name="lr"/> and β1 <paramref name="beta1"/>.</summary>
    public void Step(double lr, double beta1)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var s in _slots)
        {
            var grad = s.Parameter.grad;
            if (grad is null) continue;
            s.Step++;
            double groupLr = lr * GroupMultipliers[s.Group];
            s.ExpAvg ??= torch.zeros_like(s.Parameter).DetachFromDisposeScope();
            s.ExpAvgSq ??= torch.zeros_like(s.Parameter).DetachFromDisposeScope();
            if (s.Decay && WeightDecay != 0) s.Parameter.mul_(1 - groupLr * WeightDecay);
            s.ExpAvg.mul_(beta1).add_(grad, alpha: 1 - beta1);
            s.ExpAvgSq.mul_(Beta2).addcmul_(grad, grad, value: 1 - Beta2);
            double debias1 = 1 - Math.Pow(beta1, s.Step);
            double debias2 = 1 - Math.Pow(Beta2, s.Step);
            var denominator = s.ExpAvgSq.div(debias2).sqrt_().add_(Eps);
            s.Parameter.addcdiv_(s.ExpAvg, denominator, value: -groupLr / debias1);
        }
    }

    /// <summary>Multiplies every parameter's gradient by <paramref name="factor"/>.</summary>
    public void ScaleGradients(double factor)
    {
        using var noGrad = torch.no_grad();
        foreach (var s in _slots) s.Parameter.grad?.mul_(factor);
    }

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var s in _slots)
        {
            var grad = s.Parameter.grad;
            if (grad is null) continue;
            s.Parameter.grad = null;
            grad.Dispose();
        }
    }

    /// <summary>Writes the optimiser state (step counts and moments) for a checkpoint.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(_slots.Length);
        foreach (var s in _slots)
        {
            writer.Write(s.Step);
            writer.Write(s.ExpAvg is not null);
            if (s.ExpAvg is null) continue;
            s.ExpAvg.Save(writer);
            s.ExpAvgSq!.Save(writer);
        }
    }

    /// <summary>Restores state written by <see cref="Save"/> for the same parameter list.</summary>
    public void Load(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count != _slots.Length)
            throw new InvalidDataException($"The checkpoint's optimiser state holds {count} parameters; the model has {_slots.Length}.");
        foreach (var s in _slots)
        {
            s.Step = reader.ReadInt64();
            bool has = reader.ReadBoolean();
            s.ExpAvg?.Dispose();
            s.ExpAvgSq?.Dispose();
            s.ExpAvg = s.ExpAvgSq = null;
            if (!has) continue;
            s.ExpAvg = torch.zeros_like(s.Parameter).DetachFromDisposeScope();
            s.ExpAvgSq = torch.zeros_like(s.Parameter).DetachFromDisposeScope();
            s.ExpAvg.Load(reader);
            s.ExpAvgSq.Load(reader);
        }
    }

    public void Dispose()
    {
        foreach (var s in _slots)
        {
            s.ExpAvg?.Dispose();
            s.ExpAvgSq?.Dispose();
            s.ExpAvg = s.ExpAvgSq = null;
        }
    }

    private sealed class Slot(Tensor parameter, bool decay, int group)
    {
        public Tensor Parameter { get; } = parameter;
        public bool Decay { get; } = decay;
        public int Group { get; } = group;
        public long Step { get; set; }
        public Tensor? ExpAvg { get; set; }
        public Tensor? ExpAvgSq { get; set; }
    }
}
