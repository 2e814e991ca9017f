using System.Runtime.InteropServices;

namespace ResNet.MLNet.Runtime;

/// <summary>
/// Shortens how long libtorch's OpenMP worker threads (GNU libgomp) spin before sleeping between parallel regions.
/// libgomp's default spin of 300,000 iterations keeps idle workers busy through the gaps between operators, where
/// they take CPU from the managed batch work and the data path on a small machine. The setting is read once, when
/// libgomp loads, so it must be made before the first tensor exists; the trainer and CLI do it for you. Settings
/// the user made (<c>GOMP_SPINCOUNT</c>, <c>OMP_WAIT_POLICY</c>) are left alone. Opt out with the environment variable
/// <c>RESNET_MLNET_OMP_TUNING=0</c>.
/// </summary>
internal static class OpenMpWaitTuning
{
    /// <summary>The spin count set (libgomp's default is 300,000).</summary>
    public const int SpinCount = 20_000;

    private static int _done;

    /// <summary>
    /// Sets <c>GOMP_SPINCOUNT</c> in the process environment once (Linux only; a no-op when the user set it or
    /// <c>OMP_WAIT_POLICY</c>, or opted out). Has no effect when libgomp is already loaded.
    /// </summary>
    /// <returns>True when this call or an earlier one set the variable.</returns>
    public static bool Apply()
    {
        if (Volatile.Read(ref _done) == 1) return true;
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("RESNET_MLNET_OMP_TUNING") == "0"
            || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
            return false;
        try
        {
            // Environment.SetEnvironmentVariable changes only .NET's copy; libgomp reads the C library's environment.
            if (setenv("GOMP_SPINCOUNT", SpinCount.ToString(System.Globalization.CultureInfo.InvariantCulture), 0) != 0) return false;
            Environment.SetEnvironmentVariable("GOMP_SPINCOUNT", SpinCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Volatile.Write(ref _done, 1);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
