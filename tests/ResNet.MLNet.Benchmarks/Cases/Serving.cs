using System.Diagnostics;
using System.Net.Http.Headers;
using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Cli.Serving;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (4) <c>resnet-mlnet serve</c>'s <c>POST /predict</c> over loopback HTTP: requests/s and per-request latency p50/p99
/// with 1 and 8 concurrent clients, each request one JPEG from the validation images (decode, model.zip chain, JSON).
/// </summary>
public static class Serving
{
    public static void Run(ResultTable table, FittedPipeline fitted, string modelZip, bool quick)
    {
        string name = fitted.Trainer.ArchitectureName;
        var images = fitted.Data.Items.Select(i => File.ReadAllBytes(i.ImagePath)).Take(200).ToArray();
        int requests = quick ? 160 : 640;
        var server = PredictionServer.StartAsync(new ServeOptions { ModelPath = modelZip, Port = 0 }).GetAwaiter().GetResult();
        try
        {
            using var http = new HttpClient { BaseAddress = server.Address };
            Send(http, images, 0, 16);   // warm-up: engines created, JIT done
            foreach (int clients in new[] { 1, 8 })
            {
                var latencies = new double[requests];
                long start = Stopwatch.GetTimestamp();
                Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, client =>
                {
                    for (int i = client; i < requests; i += clients)
                        latencies[i] = Send(http, images, i, 1);
                });
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                Array.Sort(latencies);
                string config = $"{name} serve c{clients}";
                table.Add(new Result(ScoringRuns.Section, config, "/predict requests/s", requests / seconds, "req/s",
                    $"{requests} POSTs of one JPEG each, {clients} concurrent client(s), loopback"));
                table.Add(new Result(ScoringRuns.Section, config, "/predict p50", latencies[requests / 2], "ms"));
                table.Add(new Result(ScoringRuns.Section, config, "/predict p99", latencies[(int)Math.Ceiling(requests * 0.99) - 1], "ms"));
            }
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Posts <paramref name="count"/> images starting at <paramref name="first"/>; returns the last one's latency in ms.</summary>
    private static double Send(HttpClient http, byte[][] images, int first, int count)
    {
        double milliseconds = 0;
        for (int i = first; i < first + count; i++)
        {
            using var content = new ByteArrayContent(images[i % images.Length]);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            long start = Stopwatch.GetTimestamp();
            using var response = http.PostAsync("predict", content).GetAwaiter().GetResult();
            response.EnsureSuccessStatusCode();
            response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return milliseconds;
    }
}
