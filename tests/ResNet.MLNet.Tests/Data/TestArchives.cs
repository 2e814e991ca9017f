using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace ResNet.MLNet.Tests.Data;

/// <summary>Builds small .tgz and .zip archives in memory.</summary>
internal static class TestArchives
{
    /// <summary>A tar entry: a file with text content, a folder (name ends in '/'), or a link.</summary>
    public sealed record Entry(string Name, string? Text = null, TarEntryType Type = TarEntryType.RegularFile, string? LinkName = null)
    {
        public static Entry File(string name, string text) => new(name, text);

        public static Entry Folder(string name) => new(name, Type: TarEntryType.Directory);

        public static Entry Symlink(string name, string target) => new(name, Type: TarEntryType.SymbolicLink, LinkName: target);

        public static Entry Hardlink(string name, string target) => new(name, Type: TarEntryType.HardLink, LinkName: target);
    }

    public static byte[] Tgz(params Entry[] entries)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (Entry entry in entries)
            {
                var tarEntry = new PaxTarEntry(entry.Type, entry.Name);
                if (entry.Text is not null)
                    tarEntry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(entry.Text));
                if (entry.LinkName is not null)
                    tarEntry.LinkName = entry.LinkName;
                writer.WriteEntry(tarEntry);
            }
        }
        return output.ToArray();
    }

    public static byte[] Zip(params (string Name, string? Text)[] entries)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in entries)
            {
                ZipArchiveEntry entry = zip.CreateEntry(name);
                if (text is not null)
                {
                    using var writer = new StreamWriter(entry.Open());
                    writer.Write(text);
                }
            }
        }
        return output.ToArray();
    }

    /// <summary>A small image dataset archive with one top folder, as fastai's archives are laid out.</summary>
    public static byte[] Dataset(string top = "tiny") => Tgz(
        Entry.Folder($"{top}/"),
        Entry.File($"{top}/train/a/1.jpg", "a1"),
        Entry.File($"{top}/train/b/2.jpg", "b2"),
        Entry.File($"{top}/val/a/3.jpg", "a3"));
}
