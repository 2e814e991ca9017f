using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ResNet.MLNet.Tests.Data;

/// <summary>A minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port) serving byte arrays, with failure modes.</summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Route> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);

    public LocalHttpServer()
    {
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    /// <summary>How a route answers.</summary>
    /// <param name="Body">Bytes to send.</param>
    /// <param name="Status">HTTP status code.</param>
    /// <param name="CutAfter">Close the connection after this many body bytes (Content-Length still announces all).</param>
    /// <param name="StallAfter">Send this many body bytes, then hang until the client gives up.</param>
    /// <param name="SendLength">Whether to send Content-Length.</param>
    public sealed record Route(byte[] Body, int Status = 200, int? CutAfter = null, int? StallAfter = null, bool SendLength = true);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url(string path) => $"http://127.0.0.1:{Port}/{path}";

    public void Serve(string path, Route route) => _routes[path] = route;

    public void Serve(string path, byte[] body) => Serve(path, new Route(body));

    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public int TotalHits => _hits.Values.Sum();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => Handle(client));
        }
    }

    private async Task Handle(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                string head = await ReadHead(stream);
                string target = head.Split(' ', 3)[1].TrimStart('/');
                _hits.AddOrUpdate(target, 1, (_, n) => n + 1);
                if (!_routes.TryGetValue(target, out Route? route))
                    route = new Route("not found"u8.ToArray(), 404);
                var header = new StringBuilder($"HTTP/1.1 {route.Status} {(route.Status == 200 ? "OK" : "Error")}\r\n");
                if (route.SendLength)
                    header.Append($"Content-Length: {route.Body.Length}\r\n");
                header.Append("Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(header.ToString()));
                int count = route.CutAfter ?? route.StallAfter ?? route.Body.Length;
                await stream.WriteAsync(route.Body.AsMemory(0, count));
                await stream.FlushAsync();
                if (route.StallAfter is not null)
                    await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task<string> ReadHead(NetworkStream stream)
    {
        var bytes = new List<byte>();
        byte[] one = new byte[1];
        while (await stream.ReadAsync(one) == 1)
        {
            bytes.Add(one[0]);
            int n = bytes.Count;
            if (n >= 4 && bytes[n - 4] == '\r' && bytes[n - 3] == '\n' && bytes[n - 2] == '\r' && bytes[n - 1] == '\n')
                break;
        }
        return Encoding.ASCII.GetString(bytes.ToArray());
    }
}
