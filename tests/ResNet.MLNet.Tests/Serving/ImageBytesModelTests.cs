using Microsoft.ML;
using ResNet.MLNet.Persistence;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>A reloaded model.zip scores encoded image bytes (no temporary files) exactly as it scores their paths.</summary>
public sealed class ImageBytesModelTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void BytesGiveTheSameScoresAsPathsOnAReloadedModelZip()
    {
        var ml = new MLContext();
        var loaded = ml.Model.Load(trained.ModelPath, out _);
        using var pathEngine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded);
        var bytesModel = ImageBytesModel.Load(ml, trained.ModelPath);
        using var bytesEngine = bytesModel.CreatePredictionEngine(ml);

        Assert.Equal("Image", bytesModel.ImageColumnName);
        Assert.Equal(trained.Data.Classes, bytesEngine.ClassNames);
        foreach (string path in trained.ValidImages)
        {
            var fromPath = pathEngine.Predict(new ImageInput { ImagePath = path });
            var fromBytes = bytesEngine.Predict(File.ReadAllBytes(path));
            Assert.Equal(fromPath.PredictedLabel, fromBytes.PredictedLabel);
            Assert.Equal(fromPath.Score.Length, fromBytes.Score.Length);
            for (int i = 0; i < fromPath.Score.Length; i++)
                Assert.Equal(fromPath.Score[i], fromBytes.Score[i], 6);
        }
    }

    [Fact]
    public void AFittedPipelineScoresBytesAsItsModelZipWould()
    {
        var ml = new MLContext();
        using var fromFitted = ImageBytesModel.FromModel(ml, trained.Model, trained.Data.All.Schema).CreatePredictionEngine(ml);
        using var fromZip = ImageBytesModel.Load(ml, trained.ModelPath).CreatePredictionEngine(ml);

        foreach (string path in trained.ValidImages.Take(4))
        {
            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal(fromZip.Predict(bytes).Score, fromFitted.Predict(bytes).Score);
        }
    }

    [Fact]
    public void BytesThatAreNotAnImageAreAClearError()
    {
        var ml = new MLContext();
        using var engine = ImageBytesModel.Load(ml, trained.ModelPath).CreatePredictionEngine(ml);

        var notImage = Assert.Throws<InvalidDataException>(() => engine.Predict("hello"u8, "upload 'notes.txt'"));
        Assert.Contains("upload 'notes.txt'", notImage.Message);
        Assert.Contains("not a supported image format", notImage.Message);
        byte[] truncated = File.ReadAllBytes(trained.ValidImages[0])[..200];
        Assert.Throws<InvalidDataException>(() => engine.Predict(truncated));
        Assert.Throws<InvalidDataException>(() => engine.Predict([]));
    }

    [Fact]
    public void AModelWithoutAnImageLoaderIsRejected()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(new[] { new ImageInput { Label = "a" } });
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);

        var error = Assert.Throws<ArgumentException>(() => ImageBytesModel.FromModel(ml, model, data.Schema));
        Assert.Contains("no image-loading step", error.Message);
    }

    [Fact]
    public void DisposingOneEngineLeavesTheOtherEnginesOfTheModelWorking()
    {
        var ml = new MLContext();
        var model = ImageBytesModel.Load(ml, trained.ModelPath);
        byte[] bytes = File.ReadAllBytes(trained.ValidImages[0]);
        var first = model.CreatePredictionEngine(ml);
        using var second = model.CreatePredictionEngine(ml);
        var expected = first.Predict(bytes).Score;

        first.Dispose();

        Assert.Equal(expected, second.Predict(bytes).Score);
        Assert.Equal(expected, model.CreatePredictionEngine(ml).Predict(bytes).Score);
        Assert.Throws<ObjectDisposedException>(() => first.Predict(bytes));
    }
}
