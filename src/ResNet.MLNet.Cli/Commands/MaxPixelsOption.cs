using System.CommandLine;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>The <c>--max-pixels</c> option the commands that read images share (the pixel limit of <see cref="ImageFilePolicy"/>).</summary>
internal static class MaxPixelsOption
{
    public static Option<long> Create() => new("--max-pixels")
    {
        Description = $"Refuse images with more pixels than this, read from the file header before decoding (default {ImageFilePolicy.DefaultMaxPixels}, Pillow's limit).",
        DefaultValueFactory = _ => ImageFilePolicy.DefaultMaxPixels,
    };

    /// <summary>The checked value.</summary>
    public static long Get(ParseResult parseResult, Option<long> option)
    {
        long value = parseResult.GetValue(option);
        if (value < 1) throw new ArgumentException($"--max-pixels must be at least 1, got {value}.");
        return value;
    }
}
