using ResNet.MLNet.IO;

namespace ResNet.MLNet.Data;

/// <summary>
/// The datasets the library knows and how to get them, like fastai's <c>URLs</c> and <c>untar_data</c>: the download
/// locations of the chapter's datasets (with the sizes and MD5 digests fastai publishes in its <c>checks.txt</c>), the
/// names the CLI and the examples accept (<c>--data</c>), and the download cache. An archive is downloaded to a
/// temporary file, verified (size and MD5), extracted into a temporary folder and moved into place in the cache, so a
/// dataset folder either is complete or is not there; a second call finds it and touches no network.
/// </summary>
public static class Datasets
{
    private const string FastAiImageClassification = "https://s3.amazonaws.com/fast-ai-imageclas/";

    /// <summary>Imagenette, full size (10 easy ImageNet classes; about 1.5 GB).</summary>
    public const string Imagenette = FastAiImageClassification + "imagenette2.tgz";

    /// <summary>Imagenette with the shortest side resized to 320 px (about 330 MB).</summary>
    public const string Imagenette320 = FastAiImageClassification + "imagenette2-320.tgz";

    /// <summary>Imagenette with the shortest side resized to 160 px (about 95 MB): the chapter's dataset.</summary>
    public const string Imagenette160 = FastAiImageClassification + "imagenette2-160.tgz";

    /// <summary>Imagewoof, full size (10 hard-to-tell dog breeds; about 1.3 GB).</summary>
    public const string Imagewoof = FastAiImageClassification + "imagewoof2.tgz";

    /// <summary>Imagewoof with the shortest side resized to 320 px.</summary>
    public const string Imagewoof320 = FastAiImageClassification + "imagewoof2-320.tgz";

    /// <summary>Imagewoof with the shortest side resized to 160 px.</summary>
    public const string Imagewoof160 = FastAiImageClassification + "imagewoof2-160.tgz";

    /// <summary>The folder holding Fashion-MNIST's four original gzipped IDX files.</summary>
    internal const string FashionMnistFolder = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/";

    private static readonly Dictionary<string, DownloadChecksum> Checks = new(StringComparer.Ordinal)
    {
        [Imagenette] = DownloadChecksum.FastAi(1557161267, "2c774ecb40005b35d7937d50f5d42336"),
        [Imagenette320] = DownloadChecksum.FastAi(341663724, "1f1f74f133caff120e575856659b87a2"),
        [Imagenette160] = DownloadChecksum.FastAi(99003388, "c475f8f7617a200ba35b9facc48443c3"),
        [Imagewoof] = DownloadChecksum.FastAi(1343715595, "2cc1c1e36e20cb6fd24ffb978edcb487"),
        [Imagewoof320] = DownloadChecksum.FastAi(328387740, "7a1fd92672a559a85de76e4810a20c21"),
        [Imagewoof160] = DownloadChecksum.FastAi(92612825, "3559b194123981a540b87132dbda412f"),
        // Fashion-MNIST publishes whole-file MD5s; sizes come from Content-Length.
        [FashionMnistFolder + "train-images-idx3-ubyte.gz"] = new(Md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        [FashionMnistFolder + "train-labels-idx1-ubyte.gz"] = new(Md5: "25c81989df183df01b3e8a0aad5dffbe"),
        [FashionMnistFolder + "t10k-images-idx3-ubyte.gz"] = new(Md5: "bef4ecab320f06d8554ea6380940ec79"),
        [FashionMnistFolder + "t10k-labels-idx1-ubyte.gz"] = new(Md5: "bb300cfdad3c16e7a12a480ee83cd310"),
    };

    /// <summary>Every downloadable dataset: the six archives above and Fashion-MNIST.</summary>
    internal static IReadOnlyList<KnownDataset> All { get; } =
    [
        new("imagenette2-160", Imagenette160, "Imagenette, 10 ImageNet classes, shortest side 160 px (fastbook ch. 14)", Checks[Imagenette160]),
        new("imagenette2-320", Imagenette320, "Imagenette, shortest side 320 px", Checks[Imagenette320]),
        new("imagenette2", Imagenette, "Imagenette, full size", Checks[Imagenette]),
        new("imagewoof2-160", Imagewoof160, "Imagewoof, 10 dog breeds, shortest side 160 px", Checks[Imagewoof160]),
        new("imagewoof2-320", Imagewoof320, "Imagewoof, shortest side 320 px", Checks[Imagewoof320]),
        new("imagewoof2", Imagewoof, "Imagewoof, full size", Checks[Imagewoof]),
        new(FashionMnist.DatasetName, FashionMnistFolder, "Fashion-MNIST, 10 clothing classes, 28x28 grayscale (Debian package or download)", null),
    ];

    /// <summary>The published checksum of <paramref name="url"/>, or null when the library has none.</summary>
    internal static DownloadChecksum? FindChecksum(string url) => Checks.GetValueOrDefault(url);

    /// <summary>The known dataset called <paramref name="name"/> (case-insensitive), or null.</summary>
    internal static KnownDataset? Find(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The folder datasets are downloaded and generated into when no folder is given: the <c>RESNET_MLNET_DATA</c>
    /// environment variable, else <c>resnet-mlnet/data</c> under the user's local data folder (not created by this call).
    /// </summary>
    public static string DefaultCacheDirectory => DatasetCache.DefaultDirectory;

    /// <summary>The selection that means the built-in synthetic dataset.</summary>
    public const string Synthetic = "synthetic";

    /// <summary>Every data selection that is a name rather than a folder: <see cref="Synthetic"/> and the downloadable datasets.</summary>
    public static IReadOnlyList<string> Names { get; } =
        new[] { Synthetic, FashionMnist.DatasetName }.Concat(All.Select(d => d.Name)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Checks that <paramref name="selection"/> is a known name or an existing folder, without downloading anything.</summary>
    /// <exception cref="ArgumentException">The selection is neither a known name nor an existing folder.</exception>
    public static void Check(string selection)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(selection);
        if (!Names.Contains(selection, StringComparer.OrdinalIgnoreCase) && !Directory.Exists(selection))
            throw UnknownSelection(selection);
    }

    /// <summary>
    /// Resolves a data selection to the root folder of an image-folder dataset: <see cref="Synthetic"/> (the built-in
    /// dataset), a name from <see cref="Names"/> (downloaded once into the cache), or the path of an existing folder.
    /// </summary>
    /// <param name="selection">A name from <see cref="Names"/> (case-insensitive) or a folder path.</param>
    /// <param name="cacheDirectory">Dataset cache; <see cref="DefaultCacheDirectory"/> when null.</param>
    /// <param name="syntheticOptions">Settings of the synthetic dataset; the defaults when null.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    /// <exception cref="ArgumentException">The selection is neither a known name nor an existing folder.</exception>
    public static async Task<string> ResolveAsync(string selection, string? cacheDirectory = null,
        SyntheticImagesOptions? syntheticOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(selection);
        if (selection.Equals(Synthetic, StringComparison.OrdinalIgnoreCase))
            return SyntheticImages.GetOrCreate(syntheticOptions, cacheDirectory);
        if (selection.Equals(FashionMnist.DatasetName, StringComparison.OrdinalIgnoreCase))
            return await FashionMnist.GetOrCreateAsync(new FashionMnistOptions { CacheDirectory = cacheDirectory }, cancellationToken).ConfigureAwait(false);
        if (Find(selection) is { } known)
            return await UntarDataAsync(known.Url, new UntarDataOptions { CacheDirectory = cacheDirectory }, cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(selection))
            return Path.GetFullPath(selection);
        throw UnknownSelection(selection);
    }

    private static ArgumentException UnknownSelection(string selection) =>
        new($"Data '{selection}' is neither a folder nor a known dataset. Known datasets: {string.Join(", ", Names)}.", nameof(selection));

    private static readonly string[] ArchiveExtensions = [".tar.gz", ".tgz", ".tar", ".zip"];

    /// <summary>Downloads (if needed) and extracts the archive at <paramref name="url"/>; returns the dataset folder.</summary>
    /// <param name="url">An http, https or file URL of a .tgz, .tar.gz, .tar or .zip archive, e.g. <see cref="Imagenette160"/>.</param>
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
        DownloadChecksum? check = options.Checksum ?? FindChecksum(url);
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
    /// <param name="name">Dataset folder name (a name from <see cref="Names"/>).</param>
    /// <param name="cacheDirectory">Cache folder; null for the default.</param>
    public static bool IsCached(string name, string? cacheDirectory = null) =>
        Directory.Exists(Path.Combine(DatasetCache.Resolve(cacheDirectory), name));

    internal static IProgress<DownloadProgress> CombineProgress(UntarDataOptions options)
    {
        IProgress<DownloadProgress>? bar = options.ShowProgressBar ? ConsoleProgressBar.ForDownloads() : null;
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
