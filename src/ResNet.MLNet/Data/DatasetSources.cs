namespace ResNet.MLNet.Data;

/// <summary>
/// Turns a data selection as the CLI and the examples take it (<c>--data</c>) into an image-folder root:
/// <c>synthetic</c> (the built-in dataset, the default), <c>fashion-mnist</c>, a known dataset name such as
/// <c>imagenette-160</c> (downloaded once into the cache), or the path of an existing folder.
/// </summary>
public static class DatasetSources
{
    /// <summary>The selection that means the built-in synthetic dataset.</summary>
    public const string Synthetic = "synthetic";

    /// <summary>Every selection that is a name rather than a folder.</summary>
    public static IReadOnlyList<string> Names { get; } =
        new[] { Synthetic, FashionMnist.DatasetName }.Concat(DatasetUrls.All.Select(d => d.Name)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Checks that <paramref name="selection"/> is a known name or an existing folder, without downloading anything.</summary>
    /// <exception cref="ArgumentException">The selection is neither a known name nor an existing folder.</exception>
    public static void Check(string selection)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(selection);
        if (!Names.Contains(selection, StringComparer.OrdinalIgnoreCase) && !Directory.Exists(selection))
            throw new ArgumentException(
                $"Data '{selection}' is neither a folder nor a known dataset. Known datasets: {string.Join(", ", Names)}.", nameof(selection));
    }

    /// <summary>Resolves <paramref name="selection"/> to the root folder of an image-folder dataset.</summary>
    /// <param name="selection">A name from <see cref="Names"/> (case-insensitive) or a folder path.</param>
    /// <param name="cacheDirectory">Dataset cache; <see cref="DatasetCache.Resolve(string?)"/> decides when null.</param>
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
        if (DatasetUrls.Find(selection) is { } known)
            return await Datasets.UntarDataAsync(known.Url, new UntarDataOptions { CacheDirectory = cacheDirectory }, cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(selection))
            return Path.GetFullPath(selection);
        throw new ArgumentException(
            $"Data '{selection}' is neither a folder nor a known dataset. Known datasets: {string.Join(", ", Names)}.", nameof(selection));
    }
}
