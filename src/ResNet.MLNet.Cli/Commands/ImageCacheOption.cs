using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using ResNet.MLNet.Data;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// The <c>--image-cache</c> option of the commands that read an image folder: where its images, decoded once, are kept.
/// <c>auto</c> keeps them in memory unless they take more than <see cref="AutoDiskBytes"/> decoded, and then in a store
/// on disk under the dataset cache folder, which later runs on the same folder reuse.
/// </summary>
internal static class ImageCacheOption
{
    /// <summary>Decoded size above which <c>auto</c> uses a store on disk.</summary>
    public const long AutoDiskBytes = 256L << 20;

    public static Option<string> Create() => new("--image-cache")
    {
        Description = "Where images decoded once are kept: auto (in memory, or on disk under the dataset cache folder when they take more " +
            $"than {AutoDiskBytes >> 20} MiB decoded), memory, or a folder for a store that later runs reuse.",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>The cache for <paramref name="imageCount"/> images of <paramref name="root"/> presized to <paramref name="presize"/>.</summary>
    public static ImageCache Resolve(string value, string root, int imageCount, int presize, string? datasetCache, TextWriter? log,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, "--image-cache");
        var cache = value switch
        {
            "memory" => ImageCache.InMemory,
            "auto" when (long)imageCount * 3 * presize * presize <= AutoDiskBytes => ImageCache.InMemory,
            "auto" => ImageCache.OnDisk(DefaultFolder(root, datasetCache)),
            _ => ImageCache.OnDisk(value),
        };
        return cache with { Log = log, CancellationToken = cancellationToken };
    }

    /// <summary>The store folder <c>auto</c> uses for <paramref name="root"/>: named after it, under the dataset cache.</summary>
    public static string DefaultFolder(string root, string? datasetCache)
    {
        string full = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..8];
        return Path.Combine(DatasetCache.Resolve(datasetCache), "image-cache", $"{Path.GetFileName(full)}-{hash}");
    }
}
