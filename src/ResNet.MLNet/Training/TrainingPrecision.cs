using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// Where a batch's forward, backward and optimiser step run: on the fp32 model, or with mixed precision the forward and
/// backward on the half-precision working copy (<see cref="HalfPrecisionCopy"/>) and the step on the fp32 master
/// weights, which the working copy takes after every step.
/// </summary>
internal sealed class TrainingPrecision(nn.Module<Tensor, Tensor> model, HalfPrecisionCopy? half, FastaiAdam optimizer)
{
    /// <summary>The network the training pass runs: the working copy with mixed precision, else the model.</summary>
    public nn.Module<Tensor, Tensor> Working => half?.Working ?? model;

    /// <summary>The training forward, in the working copy's precision; fp32 logits.</summary>
    public Tensor TrainingForward(Tensor x) => half is null ? model.forward(x) : half.Forward(x);

    /// <summary>
    /// The validation forward: in bf16 when training chose bf16 (only on a CPU whose bf16 kernels the step trial found
    /// faster), with the working copy's live BatchNorm statistics; else the fp32 master.
    /// </summary>
    public Tensor ValidationForward(Tensor x) => half is { DType: ScalarType.BFloat16 } ? half.Forward(x) : model.forward(x);

    /// <summary>
    /// Backpropagates <paramref name="loss"/> × <paramref name="scale"/> (gradient accumulation's weight); false when mixed
    /// precision skips this step (a gradient overflowed).
    /// </summary>
    public bool Backward(Tensor loss, double scale)
    {
        var scaled = scale == 1 ? loss : loss.mul(scale);
        if (half is not null) return half.BackwardToMaster(scaled);
        scaled.backward();
        return true;
    }

    /// <summary>The optimiser step; the working copy then takes the new weights.</summary>
    public void Step(double learningRate, double momentum)
    {
        optimizer.Step(learningRate, momentum);
        half?.CopyMasterToWorking();
    }

    /// <summary>Steps with gradients summed over several batches, multiplied by <paramref name="scale"/> (to their mean), then zeroes them.</summary>
    public void StepAccumulated(double scale, double learningRate, double momentum)
    {
        optimizer.ScaleGradients(scale);
        Step(learningRate, momentum);
        optimizer.ZeroGrad();
    }

    /// <summary>After a training pass: the master model takes the working copy's BatchNorm statistics.</summary>
    public void EndTrainingPass() => half?.SyncBuffersToMaster();
}
