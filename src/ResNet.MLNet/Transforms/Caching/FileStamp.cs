namespace ResNet.MLNet.Transforms.Caching;

/// <summary>What identifies a source file's version: its length and last write time (UTC ticks).</summary>
internal readonly record struct FileStamp(long Length, long LastWriteTicks)
{
    /// <summary>The stamp of <paramref name="path"/>, or null when it does not exist.</summary>
    public static FileStamp? Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(info.Length, info.LastWriteTimeUtc.Ticks) : null;
    }
}
