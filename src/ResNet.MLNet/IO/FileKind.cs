using System.Runtime.InteropServices;

namespace ResNet.MLNet.IO;

/// <summary>
/// What kind of file a path names, asked of the kernel without opening it (<c>statx</c>, following symbolic links):
/// opening a FIFO blocks until a writer appears, and a device never ends, so only regular files are read as images.
/// </summary>
internal static class FileKind
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const int ModeOffset = 28;   // stx_mode in struct statx, the same on every Linux architecture
    private const ushort TypeMask = 0xF000;

    /// <summary>
    /// Null when <paramref name="path"/> is a regular file, is missing, or the kind cannot be asked (not Linux);
    /// otherwise what it is instead, e.g. "a FIFO (named pipe)".
    /// </summary>
    public static string? DescribeIfNotRegular(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        Span<byte> buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0) return null;
        ushort mode = BitConverter.ToUInt16(buffer[ModeOffset..]);
        return (mode & TypeMask) switch
        {
            0x8000 => null,
            0x1000 => "a FIFO (named pipe)",
            0xC000 => "a socket",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x4000 => "a folder",
            _ => "not a regular file",
        };
    }

    /// <summary>Throws when <paramref name="path"/> exists and is not a regular file (see <see cref="DescribeIfNotRegular"/>).</summary>
    /// <exception cref="InvalidDataException">The path names a FIFO, socket, device or folder; the message says which.</exception>
    public static void RequireRegular(string path, string what)
    {
        if (DescribeIfNotRegular(path) is string kind)
            throw new InvalidDataException($"The {what} '{path}' is {kind}, not a regular file; only regular files (or symbolic links to them) are read.");
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int directoryFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, ref byte buffer);
}
