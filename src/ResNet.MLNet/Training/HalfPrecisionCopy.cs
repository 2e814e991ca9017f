using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// fastai's original <c>to_fp16</c> done by hand (TorchSharp has no autocast): a half-precision working copy of the
/// model (fp16 on CUDA, bf16 on CPU) with normalisation layers kept in fp32, gradients copied back to the fp32
/// master model that the optimiser updates, and dynamic loss scaling. After each applied step the master weights
/// are copied into the working copy; BatchNorm running statistics are synced back with <see cref="SyncBuffersToMaster"/>.
/// </summary>
internal sealed class HalfPrecisionCopy : IDisposable
{
    private readonly (Tensor Master, Tensor Working)[] _parameters;
    private readonly (Tensor Master, Tensor Working)[] _buffers;
    private bool _workingReleased;

    /// <param name="master">The fp32 model the optimiser updates.</param>
    /// <param name="working">A second instance of the same architecture; it becomes the half-precision copy.</param>
    /// <param name="dtype">Float16 or BFloat16.</param>
    /// <param name="scaler">The dynamic loss scaler.</param>
    public HalfPrecisionCopy(nn.Module<Tensor, Tensor> master, nn.Module<Tensor, Tensor> working, ScalarType dtype, LossScaler scaler)
    {
        Working = working;
        DType = dtype;
        Scaler = scaler;
        working.load_state_dict(master.state_dict());
        working.to(dtype);
        foreach (var (_, sub) in working.named_modules())
            if (FastaiAdam.IsNormalization(sub)) sub.to(ScalarType.Float32);
        var masterParams = master.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        _parameters = working.named_parameters().Select(p => (masterParams[p.name], (Tensor)p.parameter)).ToArray();
        var masterBuffers = master.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        _buffers = working.named_buffers().Where(b => masterBuffers.ContainsKey(b.name)).Select(b => (masterBuffers[b.name], b.buffer)).ToArray();
    }

    public nn.Module<Tensor, Tensor> Working { get; }
    public ScalarType DType { get; }
    public LossScaler Scaler { get; }

    /// <summary>Forward in half precision; returns fp32 logits.</summary>
    public Tensor Forward(Tensor x) => Working.forward(x.to(DType)).to(ScalarType.Float32);

    /// <summary>
    /// Backpropagates <c>loss·scale</c>, adds the unscaled gradients to the master parameters' and checks them.
    /// Returns false (step skipped, scale halved) when any gradient overflowed.
    /// </summary>
    public bool BackwardToMaster(Tensor loss)
    {
        using var scope = torch.NewDisposeScope();
        loss.mul(Scaler.Scale).backward();
        var overflow = torch.zeros(1, dtype: ScalarType.Bool, device: loss.device);
        using (torch.no_grad())
        {
            foreach (var (master, working) in _parameters)
            {
                var g = working.grad;
                if (g is null) continue;
                var g32 = g.to(ScalarType.Float32).div_(Scaler.Scale);
                overflow.logical_or_(g32.isfinite().logical_not().any());
                if (master.grad is { } accumulated) accumulated.add_(g32);   // gradient accumulation: sum over batches
                else master.grad = g32.DetachFromDisposeScope();
                working.grad = null;
                g.Dispose();
            }
        }
        bool apply = Scaler.Update(overflow.item<bool>());
        if (!apply) ClearMasterGradients();
        return apply;
    }

    /// <summary>Copies the master weights into the working copy (after an optimiser step).</summary>
    public void CopyMasterToWorking()
    {
        using var noGrad = torch.no_grad();
        foreach (var (master, working) in _parameters) working.copy_(master);
    }

    /// <summary>Copies BatchNorm running statistics from the working copy to the master model.</summary>
    public void SyncBuffersToMaster()
    {
        using var noGrad = torch.no_grad();
        foreach (var (master, working) in _buffers) master.copy_(working);
    }

    /// <summary>Copies the master's buffers into the working copy (after restoring the master, e.g. lr_find or resume).</summary>
    public void SyncAllFromMaster()
    {
        CopyMasterToWorking();
        using var noGrad = torch.no_grad();
        foreach (var (master, working) in _buffers) working.copy_(master);
    }

    private void ClearMasterGradients()
    {
        foreach (var (master, _) in _parameters)
        {
            var g = master.grad;
            if (g is null) continue;
            master.grad = null;
            g.Dispose();
        }
    }

    /// <summary>
    /// Hands the working copy, in eval mode, to the caller (batch scoring in the training precision); it is then no
    /// longer disposed with this copy.
    /// </summary>
    public nn.Module<Tensor, Tensor> ReleaseWorking()
    {
        _workingReleased = true;
        Working.eval();
        return Working;
    }

    public void Dispose()
    {
        if (!_workingReleased) Working.Dispose();
    }
}
