using OxyPlot;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Visualization;

/// <summary>The common look of the library's plots and their atomic PNG output.</summary>
internal static class PngPlot
{
    /// <summary>A white plot with a font that exists on a fresh Linux machine with fonts-dejavu-core.</summary>
    public static PlotModel NewModel(string title) => new()
    {
        Title = title,
        Background = OxyColors.White,
        DefaultFont = OperatingSystem.IsWindows() ? "Segoe UI" : "DejaVu Sans",
    };

    /// <summary>Renders <paramref name="model"/> to a PNG at <paramref name="path"/> (temporary file, then rename).</summary>
    public static void Save(PlotModel model, string path, int width, int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.Write(path, stream => new OxyPlot.SkiaSharp.PngExporter { Width = width, Height = height }.Export(model, stream));
    }
}
