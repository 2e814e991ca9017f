using System.Buffers.Binary;
using System.IO.Compression;

namespace ResNet.MLNet.Data;

/// <summary>An unsigned-byte array read from an IDX file (the MNIST format): its shape and its values in row-major order.</summary>
/// <param name="Shape">Dimensions, outermost first (images: count, rows, columns; labels: count).</param>
/// <param name="Data">The values.</param>
internal sealed record IdxArray(int[] Shape, byte[] Data);

/// <summary>Reads IDX files (MNIST, Fashion-MNIST), plain or gzipped. Only the unsigned-byte element type is supported.</summary>
internal static class IdxFile
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads the IDX file at <paramref name="path"/>; gzip compression is detected from the content.</summary>
    /// <exception cref="InvalidDataException">The file is not an unsigned-byte IDX file, or is truncated.</exception>
    public static IdxArray Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int first = file.ReadByte(), second = file.ReadByte();
        file.Position = 0;
        if (first != 0x1F || second != 0x8B)
            return Read(file, path);
        var decompressed = new MemoryStream();
        try
        {
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            gzip.CopyTo(decompressed);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"The IDX file '{path}' is not valid gzip data: {e.Message}", e);
        }
        decompressed.Position = 0;
        return Read(decompressed, path);
    }

    /// <summary>Reads an IDX array from <paramref name="stream"/>; <paramref name="name"/> names it in errors.</summary>
    public static IdxArray Read(Stream stream, string name)
    {
        Span<byte> header = stackalloc byte[4];
        if (stream.ReadAtLeast(header, 4, throwOnEndOfStream: false) < 4 || header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"The IDX file '{name}' does not start with an IDX magic number (00 00 type dims).");
        if (header[2] != UnsignedByte)
            throw new InvalidDataException($"The IDX file '{name}' has element type 0x{header[2]:X2}; only unsigned bytes (0x08) are supported.");
        int dimensions = header[3];
        if (dimensions < 1)
            throw new InvalidDataException($"The IDX file '{name}' declares no dimensions.");
        var shape = new int[dimensions];
        Span<byte> size = stackalloc byte[4];
        long count = 1;
        for (int i = 0; i < dimensions; i++)
        {
            if (stream.ReadAtLeast(size, 4, throwOnEndOfStream: false) < 4)
                throw new InvalidDataException($"The IDX file '{name}' ends inside its header.");
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(size);
            if (shape[i] < 0)
                throw new InvalidDataException($"The IDX file '{name}' has a negative dimension ({shape[i]}).");
            count *= shape[i];
            if (count > Array.MaxLength)
                throw new InvalidDataException($"The IDX file '{name}' declares {string.Join("x", shape[..(i + 1)])} values, more than fit in memory.");
        }
        byte[] data = new byte[count];
        int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
            throw new InvalidDataException($"The IDX file '{name}' is truncated: it declares {count} values ({string.Join("x", shape)}) but holds {read}.");
        return new IdxArray(shape, data);
    }
}
