using Microsoft.ML;
using Microsoft.Playwright;
using ResNet.MLNet.Cli.Serving;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>
/// The serve page in a real headless browser: Debian's chromium driven by Playwright (Playwright's own browser
/// download is never used; <c>.ci/run</c> installs the <c>chromium</c> package).
/// </summary>
public sealed class ServePageBrowserTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task ThePageShowsTheModelAndAPickedImageWithItsLabelTopThreeAndConfidence()
    {
        Assert.True(File.Exists(Chromium), $"This test drives Debian's chromium at {Chromium}: apt-get install chromium.");
        string image = trained.ValidImages[^1];
        var ml = new MLContext();
        using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(ml.Model.Load(trained.ModelPath, out _));
        var prediction = engine.Predict(new ImageInput { ImagePath = image });
        string expected = prediction.PredictedLabel;
        string[] classes = ImagePrediction.GetClassNames(engine.OutputSchema);
        float[] sorted = [.. prediction.Score.OrderDescending()];
        bool unsure = sorted[0] < 0.5f || sorted[0] - sorted[1] < 0.1f;
        string notAnImage = trained.Combine("notes.txt");
        await File.WriteAllTextAsync(notAnImage, "not an image");

        await using var server = await PredictionServer.StartAsync(new ServeOptions { ModelPath = trained.ModelPath, Port = 0 });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(server.Address.ToString());

        await page.SetInputFilesAsync("#file", image);
        var label = page.Locator("#label");
        await label.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });

        Assert.Equal(expected, await label.TextContentAsync());
        await Assertions.Expect(page.Locator("#model-name")).ToHaveTextAsync(Path.GetFileName(trained.ModelPath));
        await Assertions.Expect(page.Locator("#classes")).ToHaveTextAsync($"{classes.Length} classes: {string.Join(", ", classes)}");
        Assert.Equal(unsure ? 1 : 0, await page.Locator("#verdict").CountAsync());
        Assert.Equal(3, await page.Locator("#top tr").CountAsync());
        Assert.Matches(@"^\d+\.\d%$", await page.Locator("#top tr >> nth=0 >> td >> nth=1").TextContentAsync());
        Assert.True(await page.EvalOnSelectorAsync<int>("#preview", "img => img.naturalWidth") > 0, "the picked image is not shown");

        await page.SetInputFilesAsync("#file", notAnImage);
        var error = page.Locator("#error");
        await Assertions.Expect(error).ToContainTextAsync("not a supported image format", new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
        Assert.Equal(0, await page.Locator("#top tr").CountAsync());
    }
}
