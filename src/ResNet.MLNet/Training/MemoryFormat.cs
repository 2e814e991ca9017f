using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Training;

/// <summary>
/// Channels-last (NHWC) image batches. On the CPU, libtorch's oneDNN convolutions often run faster on NHWC data (figures in
/// docs/benchmarks.md; the step trial decides per machine); oneDNN picks its NHWC kernels when the
/// input is laid out channels-last, and BatchNorm, ReLU, pooling and the residual additions keep that layout, so converting
/// the input batch alone is enough. Parameters stay in the default contiguous layout (checkpoints and the ONNX export read
/// their raw data). TorchSharp 0.107 has no <c>contiguous(memory_format)</c>; a permute to [N,H,W,C], a contiguous copy and
/// the inverse permute give a [N,C,H,W] view with NHWC strides, which libtorch's <c>suggest_memory_format</c> recognises.
/// </summary>
internal static class MemoryFormat
{
    /// <summary>
    /// The layouts worth trying for <paramref name="model"/> on <paramref name="device"/>: <c>Options.ChannelsLast</c> false →
    /// NCHW; true → channels-last (refused with an error for a network with a convolution libtorch cannot run channels-last,
    /// see <see cref="UnsafeConvolution"/>, instead of a crash); null (automatic) → on the CPU both, for
    /// <see cref="StepTrial"/> to time, except for such networks; on CUDA NCHW (not measured there).
    /// </summary>
    public static bool[] Layouts(bool? channelsLast, Device device, nn.Module model)
    {
        if (channelsLast == false) return [false];
        if (device.type != DeviceType.CPU) return [channelsLast == true];
        string? unsafeConvolution = get_num_threads() > 1 ? UnsafeConvolution(model) : null;
        if (unsafeConvolution is null) return channelsLast == true ? [true] : [false, true];
        if (channelsLast == true)
            throw new ArgumentException($"Options.ChannelsLast = true cannot be used with this network on the CPU: its {unsafeConvolution} " +
                "crashes libtorch 2.10's oneDNN (SIGFPE) on channels-last input with more than one thread. Leave ChannelsLast unset " +
                "(automatic: off for this network) or set it to false.");
        return [false];
    }

    /// <summary>
    /// The first 1×1 convolution of <paramref name="model"/> that changes the channel count and has 1024 or more input
    /// or output channels, described, or null. libtorch 2.10's oneDNN kills the process with SIGFPE when such a
    /// convolution (e.g. ResNet50Chapter's 1024 → 512, 512 → 2048, 256 → 1024) gets channels-last input on more than
    /// one intra-op thread (PyTorch 1.13 and the NCHW layout run them). Some shapes in
    /// that range run, but the process cannot survive trying, so the whole range is avoided.
    /// </summary>
    public static string? UnsafeConvolution(nn.Module model)
    {
        foreach (var (name, module) in model.named_modules())
            if (module is TorchSharp.Modules.Conv2d conv && conv.weight is { } weight)
            {
                long outChannels = weight.shape[0], inChannels = weight.shape[1];
                if (weight.shape[2] == 1 && weight.shape[3] == 1 && inChannels != outChannels && Math.Max(inChannels, outChannels) >= 1024)
                    return $"1×1 convolution '{name}' ({inChannels} → {outChannels} channels)";
            }
        return null;
    }

    /// <summary>
    /// Whether <paramref name="x"/> is a 4-D tensor whose strides are NHWC-contiguous (dimensions of size 1 may have any stride).
    /// </summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        long[] shape = x.shape, strides = x.stride();
        long c = shape[1], h = shape[2], w = shape[3];
        long[] expected = [h * w * c, 1, w * c, c];
        for (int d = 0; d < 4; d++)
            if (shape[d] > 1 && strides[d] != expected[d]) return false;
        return true;
    }

    /// <summary>
    /// The same [N,C,H,W] values with NHWC strides: a new tensor, or <paramref name="x"/> itself when it is not 4-D or is
    /// already channels-last.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor x)
    {
        if (x.dim() != 4 || IsChannelsLast(x)) return x;
        using var nhwc = x.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }
}
