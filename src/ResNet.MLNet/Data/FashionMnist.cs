using System.Runtime.InteropServices;
using ResNet.MLNet.IO;
using SkiaSharp;

namespace ResNet.MLNet.Data;

/// <summary>
/// Fashion-MNIST (Zalando Research; 60,000 training and 10,000 test images, 28×28 grayscale, 10 classes) as an
/// image folder in the dataset cache: <c>fashion-mnist/train/&lt;class&gt;/*.png</c> and <c>fashion-mnist/val/&lt;class&gt;/*.png</c>
/// (the test set is the validation set), so the same pipeline that trains on Imagenette trains on it.
/// The IDX files come from Debian's <c>dataset-fashion-mnist</c> package, a folder you name, or a download.
/// </summary>
public static class FashionMnist
{
    /// <summary>The dataset's name in <see cref="Datasets.All"/> and its cache folder.</summary>
    public const string DatasetName = "fashion-mnist";

    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the IDX files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The four files of the dataset: training images and labels, test images and labels.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    /// <summary>The real class names, by label value 0..9.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The class folder names (the labels the image folder gives), by label value: <see cref="ClassNames"/> made filesystem-safe.</summary>
    public static IReadOnlyList<string> FolderNames { get; } =
        ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"];

    /// <summary>
    /// Returns the Fashion-MNIST image folder in the cache, creating it on first use from local IDX files
    /// (<see cref="FashionMnistOptions.SourceDirectory"/>, else <see cref="DebianDirectory"/>) or, failing that, a verified download.
    /// </summary>
    /// <exception cref="FileNotFoundException">No local copy and downloading is off or failed; the message says how to install it.</exception>
    /// <exception cref="InvalidDataException">An IDX file is malformed or images and labels disagree.</exception>
    public static async Task<string> GetOrCreateAsync(FashionMnistOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new FashionMnistOptions();
        if (options.MaxTrainImages is < 1 || options.MaxValidImages is < 1)
            throw new ArgumentException("MaxTrainImages and MaxValidImages must be at least 1 when set.", nameof(options));
        string cache = DatasetCache.Resolve(options.CacheDirectory);
        string target = Path.Combine(cache, FolderName(options));
        if (Directory.Exists(target))
            return target;

        var progress = Datasets.CombineProgress(new UntarDataOptions { Progress = options.Progress, ShowProgressBar = options.ShowProgressBar });
        string source = await FindOrDownloadAsync(options, cache, progress, cancellationToken).ConfigureAwait(false);
        var (trainImages, trainLabels) = ReadSplit(source, FileNames[0], FileNames[1], options.MaxTrainImages);
        var (validImages, validLabels) = ReadSplit(source, FileNames[2], FileNames[3], options.MaxValidImages);

        string staging = DatasetCache.CreateStagingDirectory(cache);
        try
        {
            long total = trainLabels.Length + validLabels.Length, done = 0;
            string name = FolderName(options);
            void Written(int count) => progress.Report(new DownloadProgress(name, DownloadStage.Converting, Interlocked.Add(ref done, count), total));
            await Task.Run(() =>
            {
                WriteSplit(Path.Combine(staging, ImageFolder.Defaults.TrainName), trainImages, trainLabels, Written, cancellationToken);
                WriteSplit(Path.Combine(staging, ImageFolder.Defaults.ValidName), validImages, validLabels, Written, cancellationToken);
            }, cancellationToken).ConfigureAwait(false);
            DatasetCache.PublishDirectory(staging, target);
            progress.Report(new DownloadProgress(name, DownloadStage.Completed, total, total));
        }
        catch
        {
            AtomicFile.DeleteQuietly(staging);
            throw;
        }
        return target;
    }

    /// <summary>The cache folder name: <c>fashion-mnist</c>, or with the subset sizes when limited.</summary>
    internal static string FolderName(FashionMnistOptions options) =>
        options.MaxTrainImages is null && options.MaxValidImages is null
            ? DatasetName
            : $"{DatasetName}-{options.MaxTrainImages?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"}-{options.MaxValidImages?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"}";

    private static bool HasAllFiles(string folder) => FileNames.All(f => File.Exists(Path.Combine(folder, f)));

    private static async Task<string> FindOrDownloadAsync(FashionMnistOptions options, string cache, IProgress<DownloadProgress> progress, CancellationToken cancellationToken)
    {
        if (options.SourceDirectory is not null)
        {
            if (!HasAllFiles(options.SourceDirectory))
                throw new FileNotFoundException(
                    $"The Fashion-MNIST source folder '{options.SourceDirectory}' must contain {string.Join(", ", FileNames)}; missing: {string.Join(", ", FileNames.Where(f => !File.Exists(Path.Combine(options.SourceDirectory, f))))}.");
            return options.SourceDirectory;
        }
        if (HasAllFiles(options.SystemDirectory))
            return options.SystemDirectory;

        string downloads = Path.Combine(cache, "archives", DatasetName);
        if (HasAllFiles(downloads))
            return downloads;
        string hint = $"Fashion-MNIST was not found in {DebianDirectory}. Install it with `sudo apt-get install dataset-fashion-mnist`, or set FashionMnistOptions.SourceDirectory to a folder holding {string.Join(", ", FileNames)}";
        if (!options.AllowDownload)
            throw new FileNotFoundException(hint + ".");

        Directory.CreateDirectory(downloads);
        foreach (string file in FileNames)
        {
            string destination = Path.Combine(downloads, file);
            if (File.Exists(destination))
                continue;
            string url = options.DownloadUrl + file;
            string temp;
            try
            {
                temp = await FileDownloader.DownloadAsync(url, downloads, Datasets.FindChecksum(url), options.HttpClient, TimeSpan.FromSeconds(60),
                    (done, total) => progress.Report(new DownloadProgress(file, DownloadStage.Downloading, done, total)), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                throw new FileNotFoundException($"{hint}. Downloading {url} failed: {e.Message}", e);
            }
            AtomicFile.Commit(temp, destination);
        }
        return downloads;
    }

    private static (IdxArray Images, byte[] Labels) ReadSplit(string folder, string imagesFile, string labelsFile, int? limit)
    {
        string imagesPath = Path.Combine(folder, imagesFile), labelsPath = Path.Combine(folder, labelsFile);
        IdxArray images = IdxFile.Read(imagesPath);
        IdxArray labels = IdxFile.Read(labelsPath);
        if (images.Shape.Length != 3 || images.Shape[1] < 1 || images.Shape[2] < 1)
            throw new InvalidDataException($"The IDX file '{imagesPath}' should hold images (count x rows x columns) but has shape {string.Join("x", images.Shape)}.");
        if (labels.Shape.Length != 1)
            throw new InvalidDataException($"The IDX file '{labelsPath}' should hold one label per image but has shape {string.Join("x", labels.Shape)}.");
        if (labels.Shape[0] != images.Shape[0])
            throw new InvalidDataException($"'{imagesPath}' holds {images.Shape[0]} images but '{labelsPath}' holds {labels.Shape[0]} labels.");
        int bad = Array.FindIndex(labels.Data, l => l >= FolderNames.Count);
        if (bad >= 0)
            throw new InvalidDataException($"The label file '{labelsPath}' has label {labels.Data[bad]} at index {bad}; Fashion-MNIST labels are 0 to 9.");
        int count = Math.Min(images.Shape[0], limit ?? int.MaxValue);
        byte[] labelData = labels.Data.AsSpan(0, count).ToArray();
        return (images with { Shape = [count, images.Shape[1], images.Shape[2]] }, labelData);
    }

    private static void WriteSplit(string folder, IdxArray images, byte[] labels, Action<int> written, CancellationToken cancellationToken)
    {
        foreach (byte label in labels.Distinct())
            Directory.CreateDirectory(Path.Combine(folder, FolderNames[label]));
        int rows = images.Shape[1], columns = images.Shape[2], pixels = rows * columns;
        var parallel = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(0, (labels.Length + 255) / 256, parallel, chunk =>
        {
            int start = chunk * 256, end = Math.Min(labels.Length, start + 256);
            using var bitmap = new SKBitmap(new SKImageInfo(columns, rows, SKColorType.Gray8, SKAlphaType.Opaque));
            for (int i = start; i < end; i++)
            {
                IntPtr target = bitmap.GetPixels();
                for (int row = 0; row < rows; row++)
                    Marshal.Copy(images.Data, i * pixels + row * columns, target + row * bitmap.RowBytes, columns);
                bitmap.NotifyPixelsChanged();
                using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                string path = Path.Combine(folder, FolderNames[labels[i]], $"{i:D5}.png");
                using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096);
                file.Write(png.AsSpan());
            }
            written(end - start);
        });
    }
}
