using System.CommandLine;
using ResNet.MLNet.Cli.Serving;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet serve</c>: a web service for a model.zip: <c>POST /predict</c>, <c>GET /health</c> and a page at
/// <c>/</c> to drop an image and see its top classes. Runs until Ctrl+C.
/// </summary>
public static class ServeCommand
{
    /// <summary>Builds the <c>serve</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model.zip to serve.", Required = true };
        var port = new Option<int>("--port", "-p") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 5000 };
        var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var maxBytes = new Option<long>("--max-bytes") { Description = "Largest accepted image in bytes; larger requests get 413.", DefaultValueFactory = _ => 10 * 1024 * 1024 };
        var top = new Option<int>("--top", "-k") { Description = "How many classes /predict returns (override per request with ?k=).", DefaultValueFactory = _ => 3 };
        var maxPixels = MaxPixelsOption.Create();
        var maxConcurrent = new Option<int>("--max-concurrent") { Description = "Images decoded and scored at once (each takes 4 bytes a pixel while decoded); further requests wait.", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests that may wait for a decoding turn; beyond them /predict answers 503 with Retry-After.", DefaultValueFactory = _ => 16 };
        var command = new Command("serve", "Serve a model.zip over HTTP: POST /predict (image bytes or multipart) → JSON, GET /health, and a page at /.");
        foreach (Option option in new Option[] { model, port, host, maxBytes, top, maxPixels, maxConcurrent, maxQueue })
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            await using var server = await PredictionServer.StartAsync(new ServeOptions
            {
                ModelPath = parseResult.GetValue(model)!,
                Port = parseResult.GetValue(port),
                Host = parseResult.GetValue(host)!,
                MaxImageBytes = parseResult.GetValue(maxBytes),
                Top = parseResult.GetValue(top),
                MaxPixels = MaxPixelsOption.Get(parseResult, maxPixels),
                MaxConcurrentDecodes = parseResult.GetValue(maxConcurrent),
                MaxQueuedRequests = parseResult.GetValue(maxQueue),
            }, cancellationToken).ConfigureAwait(false);
            writer.WriteLine($"serving {Path.GetFullPath(parseResult.GetValue(model)!)} ({server.ClassNames.Count} classes) on {server.Address}");
            writer.WriteLine($"  POST {server.Address}predict   GET {server.Address}health   page: {server.Address}   (Ctrl+C stops)");
            await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();   // stopped by a signal: 130 or 143, as every command
        }));
        return command;
    }
}
