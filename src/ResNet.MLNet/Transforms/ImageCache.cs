namespace ResNet.MLNet.Transforms;

/// <summary>
/// Where <c>LoadPresizedImages</c> keeps the images it decodes once: in memory (the process's heap, gone with it) or
/// in a store on disk that later runs reuse, read memory-mapped so memory stays bounded whatever the dataset's size.
/// </summary>
public sealed record ImageCache
{
    private ImageCache(string? directory) => Directory = directory;

    /// <summary>Decoded images kept in memory for the transformer's lifetime.</summary>
    public static ImageCache InMemory => new((string?)null);

    /// <summary>
    /// Decoded images kept in a store under <paramref name="directory"/> (one pixels file and one index per presize
    /// recipe). A later run with the same recipe decodes only the files that were added or changed since.
    /// </summary>
    /// <param name="directory">The store's folder; created when missing.</param>
    public static ImageCache OnDisk(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return new ImageCache(Path.GetFullPath(directory));
    }

    /// <summary>The store's folder, or null in memory.</summary>
    public string? Directory { get; }

    /// <summary>Where building the cache reports what it does (one line, and a live bar on a terminal); null is silent.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Stops building the cache; what was decoded before stays stored for the next run.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <inheritdoc />
    public override string ToString() => Directory is null ? "in memory" : $"on disk at {Directory}";
}
