namespace ResNet.MLNet.Data;

/// <summary>
/// An archive was refused because an entry would be written outside the extraction folder
/// (a <c>..</c> component, an absolute path, or a link pointing outside) or is of a kind that is not extracted.
/// Nothing of the archive is left on disk.
/// </summary>
internal sealed class UnsafeArchiveException : IOException
{
    /// <summary>Creates the exception with a message naming the archive and the entry.</summary>
    public UnsafeArchiveException(string message)
        : base(message)
    {
    }
}
