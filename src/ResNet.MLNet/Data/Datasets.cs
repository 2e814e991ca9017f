using ResNet.MLNet.IO;

namespace ResNet.MLNet.Data;

/// <summary>
/// Downloads and caches datasets, like fastai's <c>untar_data</c>: the archive is downloaded to a temporary
/// file, verified (size and MD5), extracted into a temporary folder and moved into place in the cache, so a
/// dataset folder either is complete or is not there. A second call finds it and touches no network.
/// </summary>
public static class Datasets
{
    private static readonly string[] ArchiveExtensions = [".tar.gz", ".tgz", ".tar", ".zip"];

    /// <summary>Downloads (if needed) and extracts the archive at <paramref name="url"/>; returns the dataset folder.</summary>
    /// <param name="url">An http, https or file URL of a .tgz, .tar.gz, .tar or .zip archive, e.g. <see cref="DatasetUrls.Imagenette160"/>.</param>
    /// <param name="options">Cache folder, checksum, progress and so on; null for defaults.</param>
    /// <param name="cancellationToken">Stops the download or extraction; nothing partial is left in the cache.</param>
    /// <returns>The absolute path of the dataset folder, e.g. <c>~/.local/share/resnet-mlnet/data/imagenette2-160</c>.</returns>
    /// <exception cref="InvalidDataException">Checksum mismatch, or a corrupt or truncated archive.</exception>
    /// <exception cref="UnsafeArchiveException">An archive entry would land outside the dataset folder.</exception>
    /// <exception cref="IOException">The download was interrupted.</exception>
    /// <exception cref="HttpRequestException">The server could not be reached or answered with an error.</exception>
    public static async Task<string> UntarDataAsync(string url, UntarDataOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new UntarDataOptions();
        string fileName = ArchiveFileName(url);
        string name = options.Name ?? NameFromArchive(fileName, url);
        CheckName(name);
        string cache = DatasetCache.Resolve(options.CacheDirectory);
        string target = Path.Combine(cache, name);
        if (!options.ForceDownload && Directory.Exists(target))
            return target;

        IProgress<DownloadProgress> progress = CombineProgress(options);
        DownloadChecksum? check = options.Checksum ?? DatasetUrls.FindChecksum(url);
        string keptArchive = Path.Combine(cache, "archives", fileName);
        string archive;
        bool downloaded;
        if (options.KeepArchive && File.Exists(keptArchive) && check is not null && FileDownloader.Matches(keptArchive, check))
        {
            archive = keptArchive;
            downloaded = false;
        }
        else
        {
            archive = await FileDownloader.DownloadAsync(url, cache, check, options.HttpClient, options.IdleTimeout,
                (done, total) => progress.Report(new DownloadProgress(name, DownloadStage.Downloading, done, total)), cancellationToken).ConfigureAwait(false);
            downloaded = true;
        }

        string staging = DatasetCache.CreateStagingDirectory(cache);
        try
        {
            await Task.Run(() => ArchiveExtractor.Extract(archive, staging, url,
                (done, total) => progress.Report(new DownloadProgress(name, DownloadStage.Extracting, done, total)), cancellationToken), cancellationToken).ConfigureAwait(false);
            string content = SingleFolderOrSelf(staging);
            ReplaceDirectory(content, target, cache);
            if (content != staging)
                AtomicFile.DeleteQuietly(staging);
        }
        catch
        {
            AtomicFile.DeleteQuietly(staging);
            if (downloaded)
                AtomicFile.DeleteQuietly(archive);
            throw;
        }

        if (downloaded)
        {
            if (options.KeepArchive)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(keptArchive)!);
                File.Move(archive, keptArchive, overwrite: true);
            }
            else
            {
                AtomicFile.DeleteQuietly(archive);
            }
        }
        progress.Report(new DownloadProgress(name, DownloadStage.Completed, 1, 1));
        return target;
    }

    /// <summary>Downloads (if needed) and extracts the archive at <paramref name="url"/>, reporting progress to <paramref name="progress"/>.</summary>
    /// <param name="url">An http, https or file URL of a .tgz, .tar.gz, .tar or .zip archive.</param>
    /// <param name="progress">Receives download and extraction progress.</param>
    /// <param name="cancellationToken">Stops the download or extraction.</param>
    public static Task<string> UntarDataAsync(string url, IProgress<DownloadProgress> progress, CancellationToken cancellationToken = default) =>
        UntarDataAsync(url, new UntarDataOptions { Progress = progress }, cancellationToken);

    /// <summary>True when the dataset folder <paramref name="name"/> is in the cache.</summary>
    /// <param name="name">Dataset folder name (<see cref="KnownDataset.Name"/>).</param>
    /// <param name="cacheDirectory">Cache folder; null for the default.</param>
    public static bool IsCached(string name, string? cacheDirectory = null) =>
        Directory.Exists(Path.Combine(DatasetCache.Resolve(cacheDirectory), name));

    internal static IProgress<DownloadProgress> CombineProgress(UntarDataOptions options)
    {
        IProgress<DownloadProgress>? bar = options.ShowProgressBar ? ConsoleProgressBar.ForTerminal() : null;
        IProgress<DownloadProgress>? user = options.Progress;
        return new Progress(value =>
        {
            bar?.Report(value);
            user?.Report(value);
        });
    }

    /// <summary>The archive's file name: the last segment of the URL path.</summary>
    internal static string ArchiveFileName(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
            throw new ArgumentException($"'{url}' is not an absolute URL.", nameof(url));
        string fileName = Uri.UnescapeDataString(uri.Segments.Length == 0 ? "" : uri.Segments[^1]).Trim('/');
        if (fileName.Length == 0 || fileName is "." or ".." || fileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"The URL '{url}' does not end in an archive file name.", nameof(url));
        return fileName;
    }

    private static string NameFromArchive(string fileName, string url)
    {
        foreach (string extension in ArchiveExtensions)
        {
            if (fileName.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && fileName.Length > extension.Length)
                return fileName[..^extension.Length];
        }
        throw new ArgumentException($"The URL '{url}' does not end in .tgz, .tar.gz, .tar or .zip; set UntarDataOptions.Name to name the dataset folder.", nameof(url));
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.StartsWith('.') || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('\\'))
            throw new ArgumentException($"The dataset name '{name}' is not a plain folder name.", nameof(UntarDataOptions.Name));
        if (string.Equals(name, "archives", StringComparison.Ordinal))
            throw new ArgumentException("The dataset name 'archives' is reserved for kept archives.", nameof(UntarDataOptions.Name));
    }

    /// <summary>fastai's rule: an archive holding one top folder gives that folder; otherwise the extraction folder itself.</summary>
    private static string SingleFolderOrSelf(string staging)
    {
        string[] entries = Directory.GetFileSystemEntries(staging);
        return entries.Length == 1 && Directory.Exists(entries[0]) && !new DirectoryInfo(entries[0]).Attributes.HasFlag(FileAttributes.ReparsePoint)
            ? entries[0]
            : staging;
    }

    /// <summary>Moves <paramref name="source"/> to <paramref name="target"/>, replacing an existing folder (forced re-download).</summary>
    private static void ReplaceDirectory(string source, string target, string cache)
    {
        if (!Directory.Exists(target))
        {
            DatasetCache.PublishDirectory(source, target);
            return;
        }
        string old = Path.Combine(cache, AtomicFile.TemporaryName(Path.GetFileName(target) + ".old"));
        Directory.Move(target, old);
        Directory.Move(source, target);
        AtomicFile.DeleteQuietly(old);
    }

    private sealed class Progress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
