using Microsoft.ML;

namespace ResNet.MLNet.IO;

/// <summary>
/// This process's private folder under the system temp folder (<c>.resnet-mlnet-scratch.&lt;pid&gt;-&lt;random&gt;.tmp</c>)
/// for the files ONNX scoring needs on disk: the graphs this library generates and the copies ML.NET makes when it
/// loads a model.zip. Files are deleted when their owner is disposed; the folder itself when the process exits, and by
/// the next process when this one was killed.
/// </summary>
internal static class ScratchFolder
{
    private const string Name = "resnet-mlnet-scratch";
    private static readonly Lazy<string> Folder = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder, created on first use.</summary>
    public static string Path => Folder.Value;

    /// <summary>A new <see cref="MLContext"/> whose temporary files go to this folder.</summary>
    public static MLContext NewContext(int? seed = null) => Use(new MLContext(seed));

    /// <summary>Sends <paramref name="ml"/>'s temporary files (e.g. the ONNX copies of a loaded model) to this folder.</summary>
    public static MLContext Use(MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ml.TempFilePath = Path;
        return ml;
    }

    /// <summary>A new file in this folder holding <paramref name="bytes"/>; the caller deletes it.</summary>
    public static string WriteFile(ReadOnlySpan<byte> bytes, string extension)
    {
        string path = System.IO.Path.Combine(Path, $"{Guid.NewGuid():N}{extension}");
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
            stream.Write(bytes);
        return path;
    }

    private static string Create()
    {
        string parent = System.IO.Path.GetTempPath();
        foreach (string stale in Directory.EnumerateDirectories(parent, $".{Name}.*.tmp"))
            if (AtomicFile.TryGetOwner(System.IO.Path.GetFileName(stale), out int pid) && !ProcessLiveness.IsAlive(pid))
                AtomicFile.DeleteQuietly(stale);
        string folder = System.IO.Path.Combine(parent, AtomicFile.TemporaryName(Name));
        Directory.CreateDirectory(folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => AtomicFile.DeleteQuietly(folder);
        return folder;
    }
}
