using ResNet.MLNet.IO;
using SkiaSharp;

namespace ResNet.MLNet.Visualization;

/// <summary>Draws titled images in a grid of ⌊√n⌋ rows and writes it as a PNG (show_batch, top losses, results).</summary>
internal static class ImageGrid
{
    private const int TitleHeight = 30;
    private const int LineHeight = 22;
    private const int HeaderHeight = 36;
    private const int Margin = 8;

    /// <summary>One cell: an image (its centred square is drawn), title lines (may be empty) and their colour.</summary>
    public sealed record Tile(SKBitmap Image, IReadOnlyList<string> TitleLines, SKColor TitleColor);

    /// <summary>
    /// Writes <paramref name="tiles"/> to <paramref name="path"/> (atomically), each image drawn at
    /// <paramref name="tileSize"/> pixels under its title, with an optional <paramref name="header"/> line on top.
    /// </summary>
    public static void Save(IReadOnlyList<Tile> tiles, int tileSize, string path, string? header = null)
    {
        int n = tiles.Count;
        int rows = Math.Max(1, (int)Math.Sqrt(n));
        int cols = (n + rows - 1) / rows;
        int lines = tiles.Count == 0 ? 0 : tiles.Max(t => t.TitleLines.Count);
        int title = lines == 0 ? 0 : TitleHeight + (lines - 1) * LineHeight;
        int top = header is null ? 0 : HeaderHeight;
        int cellWidth = tileSize + Margin, cellHeight = tileSize + title + Margin;
        using var canvasBitmap = new SKBitmap(cols * cellWidth + Margin, top + rows * cellHeight + Margin, isOpaque: true);
        using (var canvas = new SKCanvas(canvasBitmap))
        using (var imagePaint = new SKPaint { FilterQuality = SKFilterQuality.Medium })
        using (var typeface = Fonts.Sans())
        using (var textPaint = new SKPaint { Color = SKColors.Black, IsAntialias = true, Typeface = typeface, TextSize = 18 })
        {
            canvas.Clear(SKColors.White);
            if (header is not null)
            {
                string text = Fit(header, textPaint, canvasBitmap.Width - 2 * Margin);
                canvas.DrawText(text, (canvasBitmap.Width - textPaint.MeasureText(text)) / 2, HeaderHeight - 10, textPaint);
            }

            for (int i = 0; i < n; i++)
            {
                int x = Margin + i % cols * cellWidth, y = top + Margin + i / cols * cellHeight;
                var tile = tiles[i];
                textPaint.Color = tile.TitleColor;
                for (int line = 0; line < tile.TitleLines.Count; line++)
                {
                    string text = Fit(tile.TitleLines[line], textPaint, tileSize);
                    float textWidth = textPaint.MeasureText(text);
                    canvas.DrawText(text, x + (tileSize - textWidth) / 2, y + TitleHeight - 9 + line * LineHeight, textPaint);
                }

                int side = Math.Min(tile.Image.Width, tile.Image.Height);
                var source = SKRect.Create((tile.Image.Width - side) / 2f, (tile.Image.Height - side) / 2f, side, side);
                canvas.DrawBitmap(tile.Image, source, new SKRect(x, y + title, x + tileSize, y + title + tileSize), imagePaint);
            }
        }

        using var encoded = SKImage.FromBitmap(canvasBitmap).Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, encoded.SaveTo);
    }

    /// <summary>Shortens <paramref name="text"/> with an ellipsis until it fits <paramref name="width"/> pixels.</summary>
    private static string Fit(string text, SKPaint font, float width)
    {
        if (font.MeasureText(text) <= width) return text;
        for (int length = text.Length - 1; length > 0; length--)
        {
            string shorter = text[..length] + "…";
            if (font.MeasureText(shorter) <= width) return shorter;
        }

        return "…";
    }
}
