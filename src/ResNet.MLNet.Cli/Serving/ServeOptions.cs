namespace ResNet.MLNet.Cli.Serving;

/// <summary>Settings of <see cref="PredictionServer"/>.</summary>
internal sealed class ServeOptions
{
    /// <summary>The model.zip to serve.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Address to listen on; loopback by default.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one.</summary>
    public int Port { get; init; } = 5000;

    /// <summary>Largest accepted image (request body or uploaded file) in bytes; larger requests get 413.</summary>
    public long MaxImageBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>How many of the most probable classes <c>/predict</c> returns by default.</summary>
    public int Top { get; init; } = 3;

    /// <summary>Largest width × height accepted, read from the image header before decoding; larger images get 400.</summary>
    public long MaxPixels { get; init; } = Transforms.ImageFilePolicy.DefaultMaxPixels;

    /// <summary>Images decoded and scored at once; further requests wait in a queue.</summary>
    public int MaxConcurrentDecodes { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Requests that may wait for a decoding turn; beyond them a request gets 503 with <c>Retry-After</c>.</summary>
    public int MaxQueuedRequests { get; init; } = 16;
}
