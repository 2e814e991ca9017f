namespace ResNet.MLNet.Data;

/// <summary>The step a dataset download is in.</summary>
public enum DownloadStage
{
    /// <summary>Receiving bytes from the server.</summary>
    Downloading,

    /// <summary>Unpacking the archive (bytes count the archive read so far).</summary>
    Extracting,

    /// <summary>Writing a dataset's files (bytes count the items written so far).</summary>
    Converting,

    /// <summary>Finished; the dataset folder is in place.</summary>
    Completed,
}

/// <summary>A progress report of <see cref="Datasets.UntarDataAsync(string, UntarDataOptions?, CancellationToken)"/>.</summary>
/// <param name="Name">The dataset (cache folder) name.</param>
/// <param name="Stage">What is being done.</param>
/// <param name="Done">Units done so far (bytes when downloading or extracting).</param>
/// <param name="Total">Units in total, when known.</param>
public readonly record struct DownloadProgress(string Name, DownloadStage Stage, long Done, long? Total);
