using System.Text.RegularExpressions;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>Range checks of command-line values, reported with the flag's name before any work starts.</summary>
internal static partial class OptionChecks
{
    /// <summary>The largest image side the commands accept (a 3×4096×4096 float tensor is 200 MB per image).</summary>
    public const int MaxImageSize = 4096;

    public static void AtLeast(string flag, int value, int minimum)
    {
        if (value < minimum) throw new ArgumentException($"{flag} must be at least {minimum}, got {value}.");
    }

    public static void ImageSize(string flag, int value, int minimum)
    {
        if (value < minimum || value > MaxImageSize)
            throw new ArgumentException($"{flag} must be between {minimum} and {MaxImageSize} pixels, got {value}.");
    }

    /// <summary>
    /// <c>--out</c> of a command that writes one file: the file itself, with one of <paramref name="extensions"/>, so a
    /// folder name is refused instead of becoming a file of that name.
    /// </summary>
    public static string OutputFile(string command, string path, string example, params string[] extensions)
    {
        if (!extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase))
            throw new ArgumentException($"--out {path}: {command} writes one {string.Join(" or ", extensions)} file and --out names it, " +
                $"e.g. --out {Path.Combine(Path.TrimEndingDirectorySeparator(path), example)}.");
        return Path.GetFullPath(path);
    }

    /// <summary>auto, cpu, cuda or cuda:N; cuda only when this build and machine have it.</summary>
    public static void Device(string device)
    {
        string d = device.Trim().ToLowerInvariant();
        if (!DevicePattern().IsMatch(d))
            throw new ArgumentException($"--device must be auto, cpu, cuda or cuda:N, got '{device}'.");
        if (d.StartsWith("cuda", StringComparison.Ordinal))
        {
            try
            {
                TrainingDevice.Resolve(d);
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"--device {device}: CUDA is not available (this build uses the CPU libtorch, or no GPU is visible); use auto or cpu.");
            }
        }
    }

    [GeneratedRegex(@"^(auto|cpu|cuda|cuda:\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex DevicePattern();
}
