namespace ResNet.MLNet.Onnx;

/// <summary>
/// One dimension of an ONNX input or output shape: either a fixed size or a symbolic name (e.g. <c>"N"</c>
/// for the batch). Converts implicitly from <see cref="long"/>/<see cref="int"/> and <see cref="string"/>,
/// so shapes read naturally: <c>AddInput("x", OnnxElementType.Float, "N", 3, 224, 224)</c>.
/// </summary>
internal readonly record struct OnnxDim
{
    private OnnxDim(long? size, string? symbol)
    {
        Size = size;
        Symbol = symbol;
    }

    /// <summary>The fixed size, or null for a symbolic dimension.</summary>
    public long? Size { get; }

    /// <summary>The symbolic name, or null for a fixed dimension.</summary>
    public string? Symbol { get; }

    /// <summary>A dimension of fixed size (≥ 0).</summary>
    public static OnnxDim Fixed(long size)
    {
        if (size < 0) throw new ArgumentOutOfRangeException(nameof(size), size, "An ONNX dimension size cannot be negative.");
        return new OnnxDim(size, null);
    }

    /// <summary>A symbolic dimension whose size is chosen at run time (e.g. the batch size).</summary>
    public static OnnxDim Symbolic(string symbol)
    {
        if (string.IsNullOrWhiteSpace(symbol)) throw new ArgumentException("A symbolic ONNX dimension needs a name.", nameof(symbol));
        return new OnnxDim(null, symbol);
    }

    /// <summary>Converts a fixed size.</summary>
    public static implicit operator OnnxDim(long size) => Fixed(size);

    /// <summary>Converts a fixed size.</summary>
    public static implicit operator OnnxDim(int size) => Fixed(size);

    /// <summary>Converts a symbolic name.</summary>
    public static implicit operator OnnxDim(string symbol) => Symbolic(symbol);

    /// <inheritdoc/>
    public override string ToString() => Symbol ?? Size!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
