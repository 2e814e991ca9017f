using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Runtime;

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
        string? unsafeConvolution = UnsafeConvolution(model, multiThreaded: get_num_threads() > 1);
        if (unsafeConvolution is null) return channelsLast == true ? [true] : [false, true];
        if (channelsLast == true)
            throw new ArgumentException($"Options.ChannelsLast = true cannot be used with this network on the CPU: its {unsafeConvolution}. " +
                "Leave ChannelsLast unset (automatic: off for this network) or set it to false.");
        return [false];
    }

    /// <summary>
    /// The first convolution of <paramref name="model"/> that libtorch 2.10's oneDNN cannot run on channels-last input,
    /// described with what goes wrong, or null:
    /// <list type="bullet">
    /// <item>a 1×1 convolution with a stride and 512 or more output channels (torchvision's and the ImageNet ResNet-18's
    /// 256 → 512 stride-2 shortcut) computes wrong values — off by as much as the values themselves, where NCHW,
    /// PyTorch and ONNX Runtime agree;</item>
    /// <item>a 1×1 convolution that changes the channel count and has 1024 or more input or output channels (e.g.
    /// ResNet50Chapter's 1024 → 512, 512 → 2048) kills the process with SIGFPE on more than one intra-op thread
    /// (<paramref name="multiThreaded"/>); some shapes in that range run, but the process cannot survive trying.</item>
    /// </list>
    /// </summary>
    public static string? UnsafeConvolution(nn.Module model, bool multiThreaded)
    {
        foreach (var (name, module) in model.named_modules())
            if (module is TorchSharp.Modules.Conv2d conv && conv.weight is { } weight && weight.shape[2] == 1 && weight.shape[3] == 1)
            {
                long outChannels = weight.shape[0], inChannels = weight.shape[1];
                string described = $"1×1 convolution '{name}' ({inChannels} → {outChannels} channels";
                if (conv.stride.Any(s => s > 1) && outChannels >= 512)
                    return $"{described}, stride {conv.stride.Max()}) computes wrong values in libtorch 2.10's oneDNN on channels-last input";
                if (multiThreaded && inChannels != outChannels && Math.Max(inChannels, outChannels) >= 1024)
                    return $"{described}) crashes libtorch 2.10's oneDNN (SIGFPE) on channels-last input with more than one thread";
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
