namespace ResNet.MLNet.Data;

/// <summary>
/// What a downloaded file must match before it is used: its size in bytes and/or an MD5 digest, either of the
/// whole file or (fastai's <c>checks.txt</c> convention) of its first <see cref="Md5PrefixLength"/> bytes.
/// </summary>
/// <param name="Size">Exact size in bytes; null to accept the server's <c>Content-Length</c> (when it sends one).</param>
/// <param name="Md5">Lower- or upper-case hex MD5; null for no digest check.</param>
/// <param name="Md5PrefixLength">When set, the MD5 covers only this many leading bytes of the file; null for the whole file.</param>
public sealed record DownloadChecksum(long? Size = null, string? Md5 = null, int? Md5PrefixLength = null)
{
    /// <summary>The number of leading bytes fastai's <c>checks.txt</c> digests cover (1 MiB).</summary>
    public const int FastAiPrefixLength = 1 << 20;

    /// <summary>A check in fastai's form: the file size plus the MD5 of its first MiB.</summary>
    public static DownloadChecksum FastAi(long size, string md5OfFirstMiB) => new(size, md5OfFirstMiB, FastAiPrefixLength);

    /// <summary>Throws <see cref="ArgumentException"/> when a field is malformed.</summary>
    public void Validate()
    {
        if (Size is < 0)
            throw new ArgumentException($"Checksum size must not be negative; got {Size}.", nameof(Size));
        if (Md5 is not null && (Md5.Length != 32 || !Md5.All(char.IsAsciiHexDigit)))
            throw new ArgumentException($"Checksum MD5 must be 32 hex digits; got '{Md5}'.", nameof(Md5));
        if (Md5PrefixLength is <= 0)
            throw new ArgumentException($"Checksum MD5 prefix length must be positive; got {Md5PrefixLength}.", nameof(Md5PrefixLength));
    }
}
