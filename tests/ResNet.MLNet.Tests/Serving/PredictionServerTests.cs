using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.ML;
using ResNet.MLNet.Cli.Serving;
using ResNet.MLNet.Tests.Cli;

namespace ResNet.MLNet.Tests.Serving;

/// <summary><c>resnet-mlnet serve</c> over real HTTP on a free loopback port.</summary>
public sealed class PredictionServerTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    private sealed record Prediction(string Label, ClassProbability[] Top);

    private sealed record ClassProbability(string Label, float Probability);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private Task<PredictionServer> StartAsync(long maxImageBytes = 10 * 1024 * 1024) =>
        PredictionServer.StartAsync(new ServeOptions { ModelPath = trained.ModelPath, Port = 0, MaxImageBytes = maxImageBytes });

    [Fact]
    public async Task EightConcurrentClientsGetTheLabelsPredictPrints()
    {
        string[] images = Directory.EnumerateFiles(trained.DataFolder, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        var (code, output, error) = await CliRun.RunAsync(["predict", "--model", trained.ModelPath, .. images]);
        Assert.True(code == 0, error);
        var expected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t'))
            .ToDictionary(f => f[0], f => f[1]);
        Assert.Equal(images.Length, expected.Count);

        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        var clients = Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            var answers = new List<(string Image, Prediction Answer)>();
            for (int i = 0; i < 50; i++)
            {
                string image = images[(client * 7 + i) % images.Length];
                using var content = new ByteArrayContent(await File.ReadAllBytesAsync(image));
                content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                using var response = await http.PostAsync("predict", content);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                answers.Add((image, (await response.Content.ReadFromJsonAsync<Prediction>(Json))!));
            }

            return answers;
        })).ToArray();

        var all = (await Task.WhenAll(clients)).SelectMany(a => a).ToArray();
        Assert.Equal(400, all.Length);
        foreach (var (image, answer) in all)
        {
            Assert.Equal(expected[image], answer.Label);
            Assert.Equal(3, answer.Top.Length);
            Assert.Equal(answer.Label, answer.Top[0].Label);
            Assert.True(answer.Top[0].Probability >= answer.Top[1].Probability && answer.Top[1].Probability >= answer.Top[2].Probability);
        }
    }

    [Fact]
    public async Task AMultipartUploadAndTheHealthAndPageEndpointsWork()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        string image = trained.ValidImages[0];
        var ml = new MLContext();
        using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(ml.Model.Load(trained.ModelPath, out _));

        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(image)), "image", Path.GetFileName(image));
        using var response = await http.PostAsync("predict?k=2", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = (await response.Content.ReadFromJsonAsync<Prediction>(Json))!;
        var local = engine.Predict(new ImageInput { ImagePath = image });
        Assert.Equal(local.PredictedLabel, answer.Label);
        Assert.Equal(2, answer.Top.Length);
        Assert.Equal(local.Score.Max(), answer.Top[0].Probability, 5);

        using var health = JsonDocument.Parse(await http.GetStringAsync("health"));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        Assert.Equal(trained.Data.Classes, health.RootElement.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        using var page = await http.GetAsync("");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<input id=\"file\" type=\"file\"", html);
        Assert.Contains("fetch('predict'", html);
        foreach (string path in new[] { "", "health" })
        {
            using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }
    }

    [Fact]
    public async Task ImagesAboveMaxPixelsAreRefusedBeforeDecoding()
    {
        await using var server = await PredictionServer.StartAsync(new ServeOptions { ModelPath = trained.ModelPath, Port = 0, MaxPixels = 100 });
        using var http = new HttpClient { BaseAddress = server.Address };
        byte[] image = Transforms.RawPng.Rgba(10, 11, (_, _) => (10, 20, 30, 255));

        var (status, error) = await PostAsync(http, new ByteArrayContent(image));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("10×11 = 110 pixels, above the limit of 100", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigtermStopsServeWithExitCode143()
    {
        using var cli = CliProcess.Start(new Dictionary<string, string>(), "serve", "--model", trained.ModelPath, "--port", "0");
        await cli.WaitForLineAsync("(Ctrl+C stops)", TimeSpan.FromMinutes(2));
        cli.Signal(CliProcess.SigTerm);
        int code = await cli.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(code == 143, $"exit {code}\n{cli.Output}\n{cli.Error}");
    }

    [Fact]
    public async Task NonImagesAre400AndOversizeBodiesAre413()
    {
        byte[] image = await File.ReadAllBytesAsync(trained.ValidImages[0]);
        await using var server = await StartAsync(maxImageBytes: image.Length + 10);
        using var http = new HttpClient { BaseAddress = server.Address };

        var (status, message) = await PostAsync(http, new ByteArrayContent("not an image"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not a supported image format", message);
        (status, message) = await PostAsync(http, new ByteArrayContent(image[..(image.Length / 3)]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("truncated", message);
        (status, message) = await PostAsync(http, new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("no image", message);
        (status, _) = await PostAsync(http, new ByteArrayContent(image));
        Assert.Equal(HttpStatusCode.OK, status);

        byte[] tooLarge = new byte[image.Length + 11];
        (status, message) = await PostAsync(http, new ByteArrayContent(tooLarge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains($"limit of {image.Length + 10} bytes", message);
        // Without a Content-Length (chunked), the limit holds while reading.
        (status, _) = await PostAsync(http, new StreamContent(new NoLengthStream(tooLarge)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        using var form = new MultipartFormDataContent { { new ByteArrayContent(tooLarge), "image", "big.jpg" } };
        (status, _) = await PostAsync(http, form);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        (status, message) = await PostAsync(http, new ByteArrayContent(image), "predict?k=zero");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("k must be a positive integer", message);
    }

    [Fact]
    public async Task ServeNamesAMissingModel()
    {
        var (code, _, error) = await CliRun.RunAsync("serve", "--model", trained.Combine("no-such-model.zip"), "--port", "0");

        Assert.Equal(1, code);
        Assert.Contains("no-such-model.zip", error);
    }

    private static async Task<(HttpStatusCode Status, string Error)> PostAsync(HttpClient http, HttpContent content, string path = "predict")
    {
        using (content)
        using (var response = await http.PostAsync(path, content))
        {
            if (response.StatusCode == HttpStatusCode.OK) return (response.StatusCode, "");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, body.RootElement.GetProperty("error").GetString()!);
        }
    }

    /// <summary>A stream that does not tell its length, so HttpClient sends it chunked.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
