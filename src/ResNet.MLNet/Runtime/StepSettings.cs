using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Runtime;

/// <summary>How a training step runs: the memory layout of the batch and the precision of the working copy of the model.</summary>
/// <param name="ChannelsLast">Batches go to the network channels-last (NHWC); see <see cref="MemoryFormat"/>.</param>
/// <param name="HalfPrecision">Float16 or BFloat16 for a mixed-precision working copy (<see cref="HalfPrecisionCopy"/>); null: fp32.</param>
internal readonly record struct StepSettings(bool ChannelsLast, ScalarType? HalfPrecision)
{
    /// <summary>E.g. "channels-last bf16".</summary>
    public override string ToString() =>
        $"{(ChannelsLast ? "channels-last" : "NCHW")} {HalfPrecision switch { ScalarType.BFloat16 => "bf16", ScalarType.Float16 => "fp16", _ => "fp32" }}";
}
