using Microsoft.ML;
using ResNet.MLNet.Cli;
using ResNet.MLNet.Data;
using ResNet.MLNet.Transforms;
using ResNet.MLNet.Visualization;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Visualization;

public class ShowBatchTests
{
    private static string Dataset(string folder) => SyntheticImages.Create(folder, new SyntheticImagesOptions
    {
        ClassCount = 3, TrainImagesPerClass = 3, ValidImagesPerClass = 1, MinSize = 40, MaxSize = 56,
    });

    [Fact]
    public void WritesAGridOfTitledTrainingImages()
    {
        string folder = Directory.CreateTempSubdirectory("resnet-mlnet-showbatch-").FullName;
        try
        {
            var ml = new MLContext(seed: 0);
            var data = ml.Data.LoadImageFolder(Dataset(Path.Combine(folder, "data")), "val");
            var view = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadImageFiles("Image", "ImagePath"))
                .Append(ml.Transforms.PresizeImages("Image", 48))
                .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
                .Append(ml.Transforms.AugmentImages("Pixels", new AugmentOptions { MinScale = 0.5f, Size = 32 }))
                .Append(ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet))
                .Fit(data.Train).Transform(data.Train);

            var options = new ShowBatchOptions { TileSize = 64, NormalizedWith = ImageStats.ImageNet };
            string first = ml.Data.ShowBatch(view, 5, Path.Combine(folder, "a.png"), options);
            string again = ml.Data.ShowBatch(view, 5, Path.Combine(folder, "b.png"), options);
            string other = ml.Data.ShowBatch(view, 5, Path.Combine(folder, "c.png"), new ShowBatchOptions { TileSize = 64, NormalizedWith = ImageStats.ImageNet, Seed = 1 });

            using var png = SKBitmap.Decode(first);
            // 5 images: ⌊√5⌋ = 2 rows of 3 columns; each cell is the tile, a 30-pixel title band and an 8-pixel margin.
            Assert.Equal(8 + 3 * (64 + 8), png.Width);
            Assert.Equal(8 + 2 * (64 + 30 + 8), png.Height);
            // The title band of the first cell has dark (text) pixels; the unused sixth cell stays white.
            bool hasText = Enumerable.Range(8, 64).Any(x => Enumerable.Range(8, 30).Any(y => png.GetPixel(x, y).Red < 100));
            Assert.True(hasText, "no title text was drawn (is a font installed? apt-get install fonts-dejavu-core)");
            Assert.Equal(SKColors.White, png.GetPixel(8 + 2 * 72 + 32, 8 + 102 + 30 + 32));
            Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(again));
            Assert.NotEqual(File.ReadAllBytes(first), File.ReadAllBytes(other));

            Assert.Throws<ArgumentOutOfRangeException>(() => BatchVisualizer.ShowBatch(view, 0, Path.Combine(folder, "d.png")));
            var missing = Assert.Throws<ArgumentOutOfRangeException>(() =>
                BatchVisualizer.ShowBatch(view, 2, Path.Combine(folder, "d.png"), new ShowBatchOptions { ImageColumnName = "Nope" }));
            Assert.Contains("'Nope'", missing.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task CliShowBatchWritesThePng()
    {
        string folder = Directory.CreateTempSubdirectory("resnet-mlnet-showbatch-cli-").FullName;
        try
        {
            string root = Dataset(Path.Combine(folder, "data"));
            string png = Path.Combine(folder, "grid.png");
            var output = new StringWriter();
            var error = new StringWriter();
            int code = await CliApp.RunAsync(["show-batch", "--data", root, "-o", png, "--max-n", "4", "--presize", "48", "--size", "32"], output, error);
            Assert.True(code == 0, error.ToString());
            Assert.Equal(Path.GetFullPath(png), output.ToString().Trim());
            using var bitmap = SKBitmap.Decode(png);
            Assert.Equal(8 + 2 * (192 + 8), bitmap.Width);

            int bad = await CliApp.RunAsync(["show-batch", "--data", Path.Combine(folder, "missing"), "-o", png], output, error);
            Assert.NotEqual(0, bad);
            Assert.Contains("error:", error.ToString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
