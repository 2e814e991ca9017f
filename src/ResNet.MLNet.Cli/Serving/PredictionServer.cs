using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using ResNet.MLNet.IO;
using ResNet.MLNet.Persistence;

namespace ResNet.MLNet.Cli.Serving;

/// <summary>
/// The web service of <c>resnet-mlnet serve</c>, an ASP.NET Core minimal API over a model.zip:
/// <c>POST /predict</c> (an encoded image as the raw body or a multipart upload → <c>{"label", "top": [{"label",
/// "probability"}]}</c>; 400 for what is not an image, 413 above the size limit), <c>GET /health</c>, and
/// <c>GET /</c>, a page to drop or pick an image and see its top classes. Requests are scored concurrently by a pool
/// of prediction engines.
/// </summary>
internal sealed class PredictionServer : IAsyncDisposable
{
    /// <summary>Room for multipart boundaries and headers on top of the image size limit.</summary>
    private const long MultipartOverhead = 64 * 1024;

    private readonly WebApplication _app;
    private readonly PredictionEnginePool _pool;

    private PredictionServer(WebApplication app, PredictionEnginePool pool, Uri address)
    {
        _app = app;
        _pool = pool;
        Address = address;
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:5000/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The model's class names.</summary>
    public IReadOnlyList<string> ClassNames => _pool.Model.ClassNames;

    /// <summary>Loads the model and starts listening.</summary>
    /// <exception cref="FileNotFoundException">No model file.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable image classifier model.zip.</exception>
    public static async Task<PredictionServer> StartAsync(ServeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Port is < 0 or > 65535) throw new ArgumentException($"--port must be between 0 and 65535, got {options.Port}.");
        if (options.MaxImageBytes < 1) throw new ArgumentException($"The image size limit must be positive, got {options.MaxImageBytes}.");
        if (options.Top < 1) throw new ArgumentException($"--top must be at least 1, got {options.Top}.");
        if (options.MaxPixels < 1) throw new ArgumentException($"--max-pixels must be at least 1, got {options.MaxPixels}.");
        if (options.MaxConcurrentDecodes < 1) throw new ArgumentException($"--max-concurrent must be at least 1, got {options.MaxConcurrentDecodes}.");
        if (options.MaxQueuedRequests < 0) throw new ArgumentException($"--max-queue must be at least 0, got {options.MaxQueuedRequests}.");
        string modelPath = Path.GetFullPath(options.ModelPath);
        var ml = ScratchFolder.NewContext(0);
        var pool = new PredictionEnginePool(ml, ImageBytesModel.Load(ml, modelPath), options.MaxPixels);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true).SetMinimumLevel(LogLevel.Warning);   // failed requests only
        builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxImageBytes + MultipartOverhead);
        var app = builder.Build();
        string page = IndexPage();
        string[] getOrHead = [HttpMethods.Get, HttpMethods.Head];   // HEAD: the GET answer's status and headers (Kestrel drops the body)
        app.MapMethods("/", getOrHead, () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapMethods("/health", getOrHead, () => Results.Json(new { status = "ok", model = modelPath, classes = pool.Model.ClassNames }));
        var gate = new DecodeGate(options.MaxConcurrentDecodes, options.MaxQueuedRequests);
        app.Lifetime.ApplicationStopped.Register(gate.Dispose);
        app.MapPost("/predict", (Delegate)((HttpContext http) => PredictAsync(http, pool, gate, options)));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new PredictionServer(app, pool, new Uri(addresses.First().TrimEnd('/') + "/"));
    }

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled or the host is asked to stop (ASP.NET Core's
    /// console lifetime turns Ctrl+C and SIGTERM into that), then stops.
    /// </summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _app.Lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static async Task<IResult> PredictAsync(HttpContext http, PredictionEnginePool pool, DecodeGate gate, ServeOptions options)
    {
        int k = options.Top;
        if (http.Request.Query.TryGetValue("k", out var kText) && (!int.TryParse(kText, out k) || k < 1))
            return Error(StatusCodes.Status400BadRequest, $"Query parameter k must be a positive integer, got '{kText}'.");
        k = Math.Min(k, pool.Model.ClassNames.Count);

        byte[]? image;
        string source;
        try
        {
            // Only multipart bodies are forms here; any other body (whatever its content type) is the image itself.
            if (http.Request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
            {
                var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
                var file = form.Files.FirstOrDefault();
                if (file is null) return Error(StatusCodes.Status400BadRequest, "The multipart request has no file; upload the image as a file field.");
                source = $"the uploaded file '{file.FileName}'";
                if (file.Length > options.MaxImageBytes) return TooLarge(options);
                image = new byte[file.Length];
                await using var stream = file.OpenReadStream();
                await stream.ReadExactlyAsync(image, http.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                source = "the request body";
                if (http.Request.ContentLength > options.MaxImageBytes) return TooLarge(options);
                image = await ReadAtMostAsync(http.Request.Body, options.MaxImageBytes, http.RequestAborted).ConfigureAwait(false);
                if (image is null) return TooLarge(options);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(options);
        }
        catch (Exception e) when (e is BadHttpRequestException or InvalidDataException or IOException)
        {
            return Error(StatusCodes.Status400BadRequest, $"Cannot read the request: {e.Message}");
        }

        if (image.Length == 0)
            return Error(StatusCodes.Status400BadRequest, "The request has no image: send the encoded image (JPEG, PNG, …) as the body or as a multipart file.");
        using var turn = await gate.EnterAsync(http.RequestAborted).ConfigureAwait(false);
        if (turn is null)
        {
            http.Response.Headers.RetryAfter = "1";
            return Error(StatusCodes.Status503ServiceUnavailable,
                $"The server is busy: {options.MaxConcurrentDecodes} images are being decoded and {options.MaxQueuedRequests} more wait; retry shortly.");
        }
        ImagePrediction prediction;
        try
        {
            prediction = pool.Predict(image, source);
        }
        catch (InvalidDataException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }

        var top = prediction.TopK(k, pool.Model.ClassNames);
        return Results.Json(new { label = top[0].Label, top = top.Select(c => new { label = c.Label, probability = c.Probability }) });
    }

    /// <summary>The whole stream, or null when it holds more than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static IResult TooLarge(ServeOptions options) =>
        Error(StatusCodes.Status413PayloadTooLarge, $"The image is larger than the limit of {options.MaxImageBytes} bytes.");

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    private static string IndexPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ResNet.MLNet.Cli.Serving.index.html")
            ?? throw new InvalidOperationException("The page resource ResNet.MLNet.Cli.Serving.index.html is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
