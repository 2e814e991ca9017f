namespace ResNet.MLNet.Data;

/// <summary>Settings for <see cref="Datasets.UntarDataAsync(string, UntarDataOptions?, CancellationToken)"/>.</summary>
public sealed class UntarDataOptions
{
    /// <summary>The cache folder; null for <see cref="Datasets.DefaultCacheDirectory"/> (environment variable <c>RESNET_MLNET_DATA</c>, else the per-user default).</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Name of the dataset folder inside the cache; null to take the archive's file name without extension (<c>imagenette2-160</c>).</summary>
    public string? Name { get; set; }

    /// <summary>What the archive must match; null to use <see cref="Datasets.FindChecksum(string)"/> (then the server's <c>Content-Length</c> for unknown URLs).</summary>
    public DownloadChecksum? Checksum { get; set; }

    /// <summary>Download and extract again even when the dataset folder is already in the cache.</summary>
    public bool ForceDownload { get; set; }

    /// <summary>Keep the verified archive in <c>&lt;cache&gt;/archives</c> (reused by a later forced re-extraction); by default it is deleted after extraction.</summary>
    public bool KeepArchive { get; set; }

    /// <summary>Receives progress reports (download bytes, extraction progress, completion).</summary>
    public IProgress<DownloadProgress>? Progress { get; set; }

    /// <summary>Draw a progress bar on the console's error stream when it is a terminal (never when redirected).</summary>
    public bool ShowProgressBar { get; set; } = true;

    /// <summary>The HTTP client to use (proxies, custom handlers); null for a shared default client.</summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>Give up when the server sends nothing for this long.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
