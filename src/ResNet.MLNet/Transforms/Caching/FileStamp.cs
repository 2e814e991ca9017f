namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// What identifies a source file's version: the length and last write time (UTC ticks) of the file that is read, so
/// of a symbolic link's final target rather than of the link.
/// </summary>
internal readonly record struct FileStamp(long Length, long LastWriteTicks)
{
    /// <summary>The stamp of <paramref name="path"/> (its target when it is a symbolic link), or null when there is no such file.</summary>
    public static FileStamp? Of(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        return info is FileInfo { Exists: true } file ? new FileStamp(file.Length, file.LastWriteTimeUtc.Ticks) : null;
    }
}
