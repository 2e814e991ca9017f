using System.Runtime.InteropServices;
using TorchSharp;

namespace ResNet.MLNet.Runtime;

/// <summary>
/// Turns libtorch's NNPACK convolution path off. On CPUs NNPACK does not support, libtorch otherwise prints
/// "Could not initialize NNPACK! Reason: Unsupported hardware." on every process's first convolutions; NNPACK is
/// only ever chosen for some no-grad convolutions that oneDNN handles as well, so switching it off changes no
/// result. TorchSharp has no binding for the switch, so this calls libtorch's <c>at::Context</c> directly; when the
/// symbols are missing (another libtorch build) nothing happens.
/// </summary>
internal static class NnpackSwitch
{
    private static int _done;

    /// <summary>Disables NNPACK once per process; returns whether libtorch accepted the call.</summary>
    public static bool Disable()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1) return true;
        _ = torch.get_num_threads(); // make sure libtorch is loaded before resolving its symbols
        try
        {
            SetUserEnabledNnpack(GlobalContext(), false);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
}
