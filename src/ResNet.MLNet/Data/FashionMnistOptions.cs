namespace ResNet.MLNet.Data;

/// <summary>Settings for <see cref="FashionMnist.GetOrCreateAsync(FashionMnistOptions?, CancellationToken)"/>.</summary>
public sealed class FashionMnistOptions
{
    /// <summary>The cache folder; null for <see cref="Datasets.DefaultCacheDirectory"/>.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>A folder holding the four gzipped IDX files; null to look in <see cref="FashionMnist.DebianDirectory"/> (Debian's <c>dataset-fashion-mnist</c> package).</summary>
    public string? SourceDirectory { get; set; }

    /// <summary>The system-wide folder searched after <see cref="SourceDirectory"/> (tests point it elsewhere).</summary>
    internal string SystemDirectory { get; set; } = FashionMnist.DebianDirectory;

    /// <summary>Download the original files when no local copy is found.</summary>
    public bool AllowDownload { get; set; } = true;

    /// <summary>Where to download the four files from (a folder URL ending in '/').</summary>
    public string DownloadUrl { get; set; } = Datasets.FashionMnistFolder;

    /// <summary>Use only the first this many training images (null: all 60,000); the cache folder name records it.</summary>
    public int? MaxTrainImages { get; set; }

    /// <summary>Use only the first this many test images as the validation set (null: all 10,000).</summary>
    public int? MaxValidImages { get; set; }

    /// <summary>Receives download and conversion progress.</summary>
    public IProgress<DownloadProgress>? Progress { get; set; }

    /// <summary>Draw a progress bar on the console's error stream when it is a terminal.</summary>
    public bool ShowProgressBar { get; set; } = true;

    /// <summary>The HTTP client to use for downloads; null for a shared default client.</summary>
    public HttpClient? HttpClient { get; set; }
}
