using System.Security.Cryptography;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Data;

/// <summary>Downloads one URL to a temporary file in the cache and verifies it before anyone uses it.</summary>
internal static class FileDownloader
{
    private static readonly Lazy<HttpClient> SharedClient = new(() =>
    {
        var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("ResNet.MLNet/0.1");
        return client;
    });

    /// <summary>
    /// Downloads <paramref name="url"/> (http, https, or file) to a new temporary file in <paramref name="folder"/>
    /// (an <see cref="AtomicFile"/> temporary, so one left by a killed process is removed by the next download) and
    /// returns its path once its size and digest match. On any failure the temporary file is deleted.
    /// </summary>
    public static async Task<string> DownloadAsync(
        string url, string folder, DownloadChecksum? check, HttpClient? client, TimeSpan idleTimeout,
        Action<long, long?> report, CancellationToken cancellationToken)
    {
        check?.Validate();
        var uri = ParseUrl(url);
        if (uri.IsFile && !File.Exists(uri.LocalPath))
            throw new FileNotFoundException($"The local archive '{uri.LocalPath}' does not exist.", uri.LocalPath);
        Directory.CreateDirectory(folder);
        AtomicFile.DeleteStale(folder);
        string temp = Path.Combine(folder, AtomicFile.TemporaryName(Datasets.ArchiveFileName(url) + ".part"));
        try
        {
            long written;
            string? md5;
            long? announced;
            if (uri.IsFile)
            {
                await using var source = new FileStream(uri.LocalPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                announced = source.Length;
                (written, md5) = await CopyAsync(source, temp, check, announced, idleTimeout, report, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                using var response = await (client ?? SharedClient.Value)
                    .GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw new HttpRequestException($"Downloading {url} failed: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
                announced = response.Content.Headers.ContentLength;
                if (check?.Size is long size && announced is long length && length != size)
                    throw new InvalidDataException($"Downloading {url}: the server announces {length} bytes but the expected size is {size}; nothing was kept.");
                await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                (written, md5) = await CopyAsync(source, temp, check, announced, idleTimeout, report, cancellationToken).ConfigureAwait(false);
            }

            long? expectedSize = check?.Size ?? announced;
            if (expectedSize is long expected && written != expected)
                throw new IOException($"Downloading {url} was interrupted: received {written} of {expected} bytes. Nothing was kept; run again to retry.");
            if (check?.Md5 is string expectedMd5 && !string.Equals(md5, expectedMd5, StringComparison.OrdinalIgnoreCase))
            {
                string scope = check.Md5PrefixLength is int prefix ? $"MD5 of the first {prefix} bytes" : "MD5";
                throw new InvalidDataException($"Checksum mismatch for {url}: {scope} is {md5}, expected {expectedMd5.ToLowerInvariant()}. The download was deleted; nothing was kept in the cache.");
            }
            return temp;
        }
        catch (HttpIOException e)
        {
            AtomicFile.DeleteQuietly(temp);
            throw new IOException($"Downloading {url} was interrupted: {e.Message} Nothing was kept; run again to retry.", e);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            AtomicFile.DeleteQuietly(temp);
            throw new HttpRequestException($"Downloading {url} failed: {e.Message}", e);
        }
        catch
        {
            AtomicFile.DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>Checks an existing file against <paramref name="check"/> (size and digest).</summary>
    public static bool Matches(string path, DownloadChecksum? check)
    {
        if (check is null)
            return true;
        var info = new FileInfo(path);
        if (!info.Exists || (check.Size is long size && info.Length != size))
            return false;
        if (check.Md5 is null)
            return true;
        using var stream = info.OpenRead();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        byte[] buffer = new byte[1 << 16];
        long remaining = check.Md5PrefixLength ?? long.MaxValue;
        int read;
        while (remaining > 0 && (read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining))) > 0)
        {
            hash.AppendData(buffer, 0, read);
            remaining -= read;
        }
        return string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), check.Md5, StringComparison.OrdinalIgnoreCase);
    }

    private static Uri ParseUrl(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps && !uri.IsFile))
            throw new ArgumentException($"'{url}' is not an http, https or file URL.", nameof(url));
        return uri;
    }

    private static async Task<(long Written, string? Md5)> CopyAsync(
        Stream source, string temp, DownloadChecksum? check, long? total, TimeSpan idleTimeout,
        Action<long, long?> report, CancellationToken cancellationToken)
    {
        using var hash = check?.Md5 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long hashRemaining = check?.Md5PrefixLength ?? long.MaxValue;
        byte[] buffer = new byte[1 << 16];
        long written = 0;
        await using var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        report(0, total);
        while (true)
        {
            idle.CancelAfter(idleTimeout);
            int read;
            try
            {
                read = await source.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"The server sent nothing for {idleTimeout.TotalSeconds:0} s after {written} bytes.");
            }
            if (read == 0)
                break;
            if (hash is not null && hashRemaining > 0)
            {
                int hashed = (int)Math.Min(read, hashRemaining);
                hash.AppendData(buffer, 0, hashed);
                hashRemaining -= hashed;
            }
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            written += read;
            report(written, total);
        }
        await target.FlushAsync(cancellationToken).ConfigureAwait(false);
        target.Flush(flushToDisk: true);
        return (written, hash is null ? null : Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
