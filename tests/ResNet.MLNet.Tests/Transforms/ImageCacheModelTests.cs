using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Tests.Data;
using ResNet.MLNet.Tests.Serving;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Transforms;

/// <summary>
/// A reloaded model.zip scores through an image cache exactly as it scores on its own: the presize method is read off
/// its resize step, and each image is decoded once.
/// </summary>
public sealed class ImageCacheModelTests(TrainedClassifier classifier) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void TheTrainedClassifiersScoresAreUnchangedAndEachImageIsDecodedOnce()
    {
        var ml = new MLContext(seed: 0);
        var loaded = ml.Model.Load(classifier.ModelPath, out _);
        using var decoded = new DecodeCounter();
        var cached = ImageCacheModel.TryCreate(ml, loaded, classifier.Data.Valid, "ImagePath", _ => ImageCache.InMemory,
            ImageFilePolicy.DefaultMaxPixels, out string? reason);
        Assert.True(cached is not null, reason);
        Assert.Equal(classifier.ValidImages.Length, decoded.Count);

        var expected = Scores(loaded.Transform(classifier.Data.Valid));
        long before = decoded.Count;
        var actual = Scores(cached.Transform(classifier.Data.Valid));
        Assert.Equal(before, decoded.Count);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            for (int k = 0; k < expected[i].Length; k++)
                Assert.InRange(Math.Abs(expected[i][k] - actual[i][k]), 0, 1e-5);
    }

    [Theory]
    [InlineData(ResizeMethod.Crop)]
    [InlineData(ResizeMethod.Pad)]
    [InlineData(ResizeMethod.Squish)]
    public void TheResizeMethodIsReadOffTheSavedModel(ResizeMethod method)
    {
        var ml = new MLContext(seed: 0);
        using var temp = new TempFolder();
        var pipeline = ml.Transforms.LoadPresizedImages("Pixels", "ImagePath", 24, method)
            .Append(ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet));
        using var model = new Disposing(pipeline.Fit(classifier.Data.All));
        string path = temp.Combine("model.zip");
        ml.Model.Save(model.Value, classifier.Data.All.Schema, path);
        var loaded = ml.Model.Load(path, out _);

        var cached = ImageCacheModel.TryCreate(ml, loaded, classifier.Data.All, "ImagePath", _ => ImageCache.InMemory,
            ImageFilePolicy.DefaultMaxPixels, out string? reason);
        Assert.True(cached is not null, reason);
        Assert.Equal(method, cached.OfType<LoadPresizedImagesTransformer>().Single().Method);
        Assert.Equal(Pixels(loaded.Transform(classifier.Data.All)), Pixels(cached.Transform(classifier.Data.All)));
    }

    private static float[][] Scores(IDataView scored) =>
        scored.GetColumn<float[]>("Score").ToArray();

    private static float[][] Pixels(IDataView view) =>
        view.GetColumn<float[]>("Pixels").ToArray();

    private sealed class Disposing(TransformerChain<ITransformer> value) : IDisposable
    {
        public TransformerChain<ITransformer> Value { get; } = value;

        public void Dispose() => Value.OfType<LoadPresizedImagesTransformer>().Single().Dispose();
    }
}
