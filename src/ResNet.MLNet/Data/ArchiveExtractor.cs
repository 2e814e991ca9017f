using System.Formats.Tar;
using System.IO.Compression;

namespace ResNet.MLNet.Data;

/// <summary>
/// Extracts .tgz/.tar.gz/.tar/.zip archives into an empty folder, refusing any entry that would land outside it:
/// absolute names, <c>..</c> components, links whose target leaves the folder or passes through another link,
/// and device or FIFO entries. Links are created last, so no file is ever written through one.
/// </summary>
internal static class ArchiveExtractor
{
    private enum ArchiveKind
    {
        GzipTar,
        Tar,
        Zip,
    }

    /// <summary>Extracts <paramref name="archive"/> into <paramref name="destination"/> (an existing, empty folder).</summary>
    /// <param name="archive">Path of the archive file.</param>
    /// <param name="destination">The folder to fill.</param>
    /// <param name="label">How messages name the archive (its URL).</param>
    /// <param name="report">Receives (archive bytes read, archive length).</param>
    /// <param name="cancellationToken">Stops between entries.</param>
    /// <exception cref="UnsafeArchiveException">An entry would escape <paramref name="destination"/>.</exception>
    /// <exception cref="InvalidDataException">The archive is corrupt, truncated, or not a supported format.</exception>
    public static void Extract(string archive, string destination, string label, Action<long, long> report, CancellationToken cancellationToken)
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));
        using var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ArchiveKind kind = Detect(file, label);
        try
        {
            if (kind == ArchiveKind.Zip)
                ExtractZip(file, root, label, report, cancellationToken);
            else
                ExtractTar(file, kind == ArchiveKind.GzipTar, root, label, report, cancellationToken);
        }
        catch (Exception e) when (e is (InvalidDataException or EndOfStreamException or FormatException or ArgumentException) )
        {
            throw new InvalidDataException($"The archive {label} is corrupt or truncated: {e.Message}", e);
        }
        report(file.Length, file.Length);
    }

    private static ArchiveKind Detect(FileStream file, string label)
    {
        byte[] head = new byte[512];
        int length = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        file.Position = 0;
        if (length >= 2 && head[0] == 0x1F && head[1] == 0x8B)
            return ArchiveKind.GzipTar;
        if (length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
            return ArchiveKind.Zip;
        if (length >= 262 && head.AsSpan(257, 5).SequenceEqual("ustar"u8))
            return ArchiveKind.Tar;
        throw new InvalidDataException(length == 0
            ? $"The archive {label} is empty."
            : $"The archive {label} is not a .tgz, .tar.gz, .tar or .zip file (it starts with {Convert.ToHexString(head, 0, Math.Min(length, 8))}).");
    }

    private static void ExtractTar(FileStream file, bool gzip, string root, string label, Action<long, long> report, CancellationToken cancellationToken)
    {
        using Stream data = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : new NonClosingStream(file);
        using var reader = new TarReader(data);
        var symbolicLinks = new List<(string Path, string Name, string Target)>();
        var hardLinks = new List<(string Path, string Name, string Target)>();
        var linkPaths = new HashSet<string>(StringComparer.Ordinal);
        var regularFiles = new HashSet<string>(StringComparer.Ordinal);
        int entries = 0;
        while (reader.GetNextEntry() is TarEntry entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (entry.EntryType)
            {
                case TarEntryType.GlobalExtendedAttributes:
                    continue;
                case TarEntryType.Directory:
                    Directory.CreateDirectory(Resolve(root, entry.Name, label));
                    break;
                case TarEntryType.RegularFile:
                case TarEntryType.V7RegularFile:
                case TarEntryType.ContiguousFile:
                {
                    string path = Resolve(root, entry.Name, label);
                    if (path == root)
                        throw new UnsafeArchiveException($"Refusing to extract {label}: the file entry '{entry.Name}' names the extraction folder itself.");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    using (var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                        entry.DataStream?.CopyTo(output);
                    regularFiles.Add(path);
                    break;
                }
                case TarEntryType.SymbolicLink:
                {
                    string path = Resolve(root, entry.Name, label);
                    symbolicLinks.Add((path, entry.Name, entry.LinkName));
                    linkPaths.Add(path);
                    break;
                }
                case TarEntryType.HardLink:
                {
                    string path = Resolve(root, entry.Name, label);
                    hardLinks.Add((path, entry.Name, entry.LinkName));
                    linkPaths.Add(path);
                    break;
                }
                default:
                    throw new UnsafeArchiveException($"Refusing to extract {label}: the entry '{entry.Name}' is a {entry.EntryType} entry; only files, folders and links inside the dataset are extracted.");
            }
            if (++entries % 64 == 0)
                report(file.Position, file.Length);
        }
        if (entries == 0)
            throw new InvalidDataException($"The archive {label} contains no entries.");
        // The tar end marker can come before the end of the compressed stream; reading on to the end makes the gzip
        // stream check its trailer (CRC-32 and length) over everything, not only what the tar reader needed.
        data.CopyTo(Stream.Null);

        foreach (var (path, name, target) in hardLinks)
        {
            // A tar hard link names its target relative to the archive root; it becomes a copy of that file.
            string source = Resolve(root, target, label, $"hard link '{name}' -> '{target}'");
            CheckNotThroughLink(root, source, linkPaths, label, name, target);
            CheckNotThroughLink(root, path, linkPaths, label, name, target);
            if (!regularFiles.Contains(source))
                throw new InvalidDataException($"The archive {label} is corrupt: the hard link '{name}' points to '{target}', which is not a file extracted before it.");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Copy(source, path, overwrite: true);
        }
        foreach (var (path, name, target) in symbolicLinks)
        {
            ResolveLinkTarget(root, path, target, linkPaths, label, name);
            CheckNotThroughLink(root, path, linkPaths, label, name, target);
            if (File.Exists(path) || Directory.Exists(path))
                throw new UnsafeArchiveException($"Refusing to extract {label}: the link '{name}' would replace a file or folder of the same name.");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.CreateSymbolicLink(path, target.Replace('\\', '/'));
        }
    }

    private static void ExtractZip(FileStream file, string root, string label, Action<long, long> report, CancellationToken cancellationToken)
    {
        using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        int index = 0;
        long total = zip.Entries.Sum(e => e.CompressedLength), done = 0;
        if (zip.Entries.Count == 0)
            throw new InvalidDataException($"The archive {label} contains no entries.");
        foreach (ZipArchiveEntry entry in zip.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = Resolve(root, entry.FullName, label);
            if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\'))
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                if (path == root)
                    throw new UnsafeArchiveException($"Refusing to extract {label}: the file entry '{entry.FullName}' names the extraction folder itself.");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using Stream input = entry.Open();
                using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                input.CopyTo(output);
            }
            done += entry.CompressedLength;
            if (++index % 64 == 0)
                report(total == 0 ? file.Length : file.Length * done / total, file.Length);
        }
    }

    /// <summary>The absolute path of entry <paramref name="name"/>; refuses absolute names, <c>..</c> and anything outside <paramref name="root"/>.</summary>
    internal static string Resolve(string root, string name, string label, string? what = null)
    {
        what ??= $"entry '{name}'";
        string normalized = name.Replace('\\', '/');
        if (normalized.Length == 0)
            throw new UnsafeArchiveException($"Refusing to extract {label}: an entry has an empty name.");
        if (normalized.StartsWith('/') || Path.IsPathRooted(name) || (normalized.Length >= 2 && normalized[1] == ':'))
            throw new UnsafeArchiveException($"Refusing to extract {label}: the {what} has an absolute path.");
        string[] segments = normalized.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Contains(".."))
            throw new UnsafeArchiveException($"Refusing to extract {label}: the {what} contains '..' and could escape the target folder.");
        string full = Path.GetFullPath(Path.Combine([root, .. segments.Where(s => s != ".")]));
        if (full != root && !full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new UnsafeArchiveException($"Refusing to extract {label}: the {what} would be written outside the target folder.");
        return full;
    }

    /// <summary>
    /// Resolves a symbolic link's target relative to the link's folder, refusing targets that leave <paramref name="root"/>
    /// or step through another link on the way (where the real path could differ from the lexical one).
    /// </summary>
    private static void ResolveLinkTarget(string root, string linkPath, string target, HashSet<string> linkPaths, string label, string name)
    {
        string normalized = target.Replace('\\', '/');
        if (normalized.Length == 0 || normalized.StartsWith('/') || Path.IsPathRooted(target) || (normalized.Length >= 2 && normalized[1] == ':'))
            throw new UnsafeArchiveException($"Refusing to extract {label}: the symbolic link '{name}' -> '{target}' points to an absolute path.");
        var segments = Path.GetRelativePath(root, Path.GetDirectoryName(linkPath)!)
            .Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToList();
        string[] steps = normalized.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < steps.Length; i++)
        {
            string segment = steps[i];
            if (segment == ".")
                continue;
            if (segment == "..")
            {
                if (segments.Count == 0)
                    throw new UnsafeArchiveException($"Refusing to extract {label}: the symbolic link '{name}' -> '{target}' points outside the target folder.");
                segments.RemoveAt(segments.Count - 1);
            }
            else
            {
                segments.Add(segment);
                string reached = Path.GetFullPath(Path.Combine([root, .. segments]));
                if (i < steps.Length - 1 && linkPaths.Contains(reached))
                    throw new UnsafeArchiveException($"Refusing to extract {label}: the symbolic link '{name}' -> '{target}' goes through another link ('{Path.GetRelativePath(root, reached)}').");
            }
        }
    }

    /// <summary>Refuses a path whose folders include a link entry: following links while resolving could leave the target folder.</summary>
    private static void CheckNotThroughLink(string root, string path, HashSet<string> linkPaths, string label, string name, string target)
    {
        for (string? folder = Path.GetDirectoryName(path); folder is not null && folder.Length > root.Length; folder = Path.GetDirectoryName(folder))
        {
            if (linkPaths.Contains(folder))
                throw new UnsafeArchiveException($"Refusing to extract {label}: the link '{name}' -> '{target}' goes through another link ('{Path.GetRelativePath(root, folder)}').");
        }
    }

    /// <summary>Keeps a reader's dispose from closing the archive file, which the caller still reads the position of.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
