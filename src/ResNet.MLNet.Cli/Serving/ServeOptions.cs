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
}
