using SkiaSharp;

namespace ResNet.MLNet.Visualization;

/// <summary>Typefaces for titles and labels in the PNGs this library writes.</summary>
internal static class Fonts
{
    private static readonly string[] Families = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans"];

    /// <summary>
    /// A sans-serif typeface: the first installed of DejaVu Sans, Liberation Sans, Arial, Helvetica, Noto Sans, else
    /// SkiaSharp's default. Text needs an installed font (on Debian: <c>apt-get install fonts-dejavu-core</c>).
    /// </summary>
    public static SKTypeface Sans()
    {
        foreach (string family in Families)
        {
            var typeface = SKTypeface.FromFamilyName(family);
            if (typeface is not null && string.Equals(typeface.FamilyName, family, StringComparison.OrdinalIgnoreCase))
                return typeface;
            typeface?.Dispose();
        }

        return SKTypeface.FromFamilyName(null) ?? SKTypeface.Default;
    }
}
