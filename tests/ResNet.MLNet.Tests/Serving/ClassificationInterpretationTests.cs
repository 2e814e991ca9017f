using Microsoft.ML;
using ResNet.MLNet.Interpretation;
using ResNet.MLNet.Tests.Cli;
using ResNet.MLNet.Training;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>Top losses and show-results: per-image losses that agree with ML.NET's metrics, and PNG grids.</summary>
public sealed class ClassificationInterpretationTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    private const int Tile = 64;

    [Fact]
    public void LossesAndAccuracyAgreeWithMlNetsEvaluation()
    {
        var ml = new MLContext();
        var model = ml.Model.Load(trained.ModelPath, out _);
        var scored = model.Transform(trained.Data.Valid);
        var metrics = ml.MulticlassClassification.Evaluate(scored);

        var interpretation = ClassificationInterpretation.FromScored(scored);

        Assert.Equal(trained.ValidImages, interpretation.Items.Select(i => i.ImagePath));
        Assert.Equal(trained.ValidLabels, interpretation.Items.Select(i => i.Actual));
        Assert.Equal(metrics.MicroAccuracy, interpretation.Accuracy, 9);
        Assert.Equal(metrics.LogLoss, interpretation.Items.Average(i => i.Loss), 4);
        var top = interpretation.TopLosses(4);
        Assert.Equal(interpretation.Items.Max(i => i.Loss), top[0].Loss);
        Assert.True(top.Zip(top.Skip(1)).All(p => p.First.Loss >= p.Second.Loss), "top losses must be sorted, highest first");
    }

    [Fact]
    public void LossIsTheNegativeLogOfTheActualClassAndProbabilityThePredictedOnes()
    {
        var interpretation = new ClassificationInterpretation(["a.png", "b.png", "c.png"], ["cat", "dog", "bird"],
            [[0.7f, 0.3f], [0.9f, 0.1f], [0.5f, 0.5f]], ["cat", "dog"]);

        var a = interpretation.Items[0];
        Assert.Equal(("cat", 0.7f, true), (a.Predicted, a.Probability, a.IsCorrect));
        Assert.Equal(-Math.Log(0.7f), a.Loss, 9);
        var b = interpretation.Items[1];
        Assert.Equal(("cat", 0.9f, false), (b.Predicted, b.Probability, b.IsCorrect));
        Assert.Equal(-Math.Log(0.1f), b.Loss, 9);
        Assert.True(double.IsPositiveInfinity(interpretation.Items[2].Loss), "a label the model does not know has an infinite loss");
        Assert.Equal(["c.png", "b.png"], interpretation.TopLosses(2).Select(i => i.ImagePath));
        Assert.Throws<ArgumentException>(() => new ClassificationInterpretation(["a.png"], ["cat"], [[1f]], ["cat", "dog"]));
    }

    [Fact]
    public void TopLossesAndResultsAreTitledGridsGreenWhenRightRedWhenWrong()
    {
        var ml = new MLContext();
        var interpretation = ClassificationInterpretation.FromScored(ml.Model.Load(trained.ModelPath, out _).Transform(trained.Data.Valid));
        string folder = trained.Combine("grids");

        string topLosses = interpretation.PlotTopLosses(4, Path.Combine(folder, "top_losses.png"), Tile);
        string results = interpretation.ShowResults(6, Path.Combine(folder, "show_results.png"), Tile);

        // 4 images: 2 rows × 2 columns under a 36-pixel header; titles of two lines (30 + 22 pixels), 8-pixel margins.
        using (var png = SKBitmap.Decode(topLosses))
        {
            Assert.Equal((8 + 2 * (Tile + 8), 36 + 8 + 2 * (Tile + 52 + 8)), (png.Width, png.Height));
            AssertTitleColours(png, interpretation.TopLosses(4), columns: 2);
        }

        using (var png = SKBitmap.Decode(results))
        {
            Assert.Equal((8 + 3 * (Tile + 8), 36 + 8 + 2 * (Tile + 52 + 8)), (png.Width, png.Height));
            int n = interpretation.Items.Count;
            var shown = Enumerable.Range(0, 6).Select(i => interpretation.Items[i * n / 6]).ToArray();
            Assert.Equal(trained.Data.Classes.Count, shown.Select(i => i.Actual).Distinct().Count());
            AssertTitleColours(png, shown, columns: 3);
        }
    }

    [Fact]
    public async Task EvaluateWritesTopLossesAndShowResultsWritesItsGrid()
    {
        string folder = trained.Combine("cli");

        var (code, output, error) = await CliRun.RunAsync("evaluate", "--model", trained.ModelPath, "--data", trained.DataFolder,
            "--out", folder, "--top-losses", "4");

        Assert.True(code == 0, error);
        Assert.Contains("top_losses.png", output, StringComparison.Ordinal);
        Assert.Equal(4, output.Split('\n').Count(line => line.StartsWith("  ", StringComparison.Ordinal) && line.Contains(trained.DataFolder, StringComparison.Ordinal)));
        using (var png = SKBitmap.Decode(Path.Combine(folder, "top_losses.png")))
            Assert.Equal(2 * 192 + 3 * 8, png.Width);

        string results = Path.Combine(folder, "results.png");
        (code, output, error) = await CliRun.RunAsync("show-results", "--model", trained.ModelPath, "--data", trained.DataFolder,
            "--max-n", "4", "--out", results);

        Assert.True(code == 0, error);
        Assert.Matches(@"accuracy \d\.\d{4} on 15 images", output);
        Assert.True(new FileInfo(results).Length > 1000);
    }

    /// <summary>Each tile's title band has text in green (right) or red (wrong) and none in the other colour.</summary>
    private static void AssertTitleColours(SKBitmap png, IReadOnlyList<ClassificationInterpretation.Item> items, int columns)
    {
        for (int i = 0; i < items.Count; i++)
        {
            int x0 = 8 + i % columns * (Tile + 8), y0 = 36 + 8 + i / columns * (Tile + 52 + 8);
            var pixels = (from x in Enumerable.Range(x0, Tile) from y in Enumerable.Range(y0, 52) select png.GetPixel(x, y)).ToArray();
            bool green = pixels.Any(p => p.Green > 100 && p.Red < 60), red = pixels.Any(p => p.Red > 150 && p.Green < 60);
            Assert.True(items[i].IsCorrect ? green && !red : red && !green,
                $"tile {i} ({items[i].Predicted}/{items[i].Actual}): green text {green}, red text {red} (is a font installed?)");
        }
    }

    [Fact]
    public void ConfusionMatrixCountsKnownLabelsAndPlotsAsASquarePng()
    {
        var interpretation = new ClassificationInterpretation(["a.png", "b.png", "c.png", "d.png", "e.png"], ["cat", "dog", "dog", "cat", "bird"],
            [[0.7f, 0.3f], [0.9f, 0.1f], [0.2f, 0.8f], [0.6f, 0.4f], [0.5f, 0.5f]], ["cat", "dog"]);
        Assert.Equal([[2, 0], [1, 1]], interpretation.ConfusionMatrix());
        string path = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-confusion-{Guid.NewGuid():N}.png");
        try
        {
            Assert.Equal(Path.GetFullPath(path), interpretation.PlotConfusionMatrix(path, size: 400));
            using var bitmap = SkiaSharp.SKBitmap.Decode(path);
            Assert.Equal((400, 400), (bitmap.Width, bitmap.Height));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
