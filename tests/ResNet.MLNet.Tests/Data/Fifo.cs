using System.Runtime.InteropServices;

namespace ResNet.MLNet.Tests.Data;

/// <summary>Creates named pipes (FIFOs): files whose open() blocks until a writer appears.</summary>
internal static class Fifo
{
    public static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (MakeFifo(path, Convert.ToUInt32("644", 8)) != 0)
            throw new IOException($"mkfifo({path}) failed: errno {Marshal.GetLastWin32Error()}");
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
