using System.Globalization;
using System.Runtime.InteropServices;

namespace ResNet.MLNet.IO;

/// <summary>
/// Reserves disk blocks for a file before it is written through a memory map: a write into a mapped page the
/// filesystem cannot back kills the process (SIGBUS), where a reservation that does not fit fails as an ordinary
/// error that names the folder and the space needed.
/// </summary>
internal static class DiskSpace
{
    /// <summary>The HResult of the error <see cref="Reserve"/> throws when the space is missing (ENOSPC).</summary>
    public const int NoSpace = 28;
    private const int QuotaExceeded = 122; // EDQUOT

    /// <summary>Grows <paramref name="file"/> to <paramref name="length"/> bytes with every block allocated.</summary>
    /// <exception cref="IOException">The filesystem has not enough space (HResult ENOSPC); the message says how much is missing.</exception>
    public static void Reserve(FileStream file, long length)
    {
        long before = file.Length;
        if (length <= before) return;
        int error = OperatingSystem.IsLinux() ? PosixFallocate(file.SafeFileHandle, 0, length) : -1;
        if (error == 0) return;
        if (error is NoSpace or QuotaExceeded)
        {
            file.SetLength(before);   // give back whatever part was allocated
            string folder = Path.GetDirectoryName(file.Name)!;
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"Not enough space in '{folder}': {Describe(length - before)} more are needed, {Describe(Available(folder))} are free."), NoSpace);
        }
        file.SetLength(length);   // not Linux, or a filesystem without block allocation: a plain resize
    }

    /// <summary>A byte count for people: KiB, MiB or GiB with one decimal.</summary>
    public static string Describe(long bytes) => bytes switch
    {
        < 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        < 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB"),
    };

    private static long Available(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [DllImport("libc", EntryPoint = "posix_fallocate")]
    private static extern int PosixFallocate(SafeHandle fd, long offset, long length);
}
