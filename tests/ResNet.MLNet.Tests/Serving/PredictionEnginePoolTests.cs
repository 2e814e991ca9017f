using Microsoft.ML;
using ResNet.MLNet.Cli.Serving;
using ResNet.MLNet.Persistence;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>The serve command's engine pool under more simultaneous borrowers than it keeps idle engines.</summary>
public sealed class PredictionEnginePoolTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void ManySimultaneousCallersGetCorrectScoresAndEnginesBeyondTheLimitAreDroppedSafely()
    {
        var ml = new MLContext();
        var model = ImageBytesModel.Load(ml, trained.ModelPath);
        var pool = new PredictionEnginePool(ml, model);
        var images = trained.ValidImages.Select(File.ReadAllBytes).ToArray();
        using var reference = model.CreatePredictionEngine(ml);
        var expected = images.Select(b => reference.Predict(b).PredictedLabel).ToArray();
        int callers = PredictionEnginePool.MaximumRetained + 16;
        using var start = new Barrier(callers);

        var labels = new string[callers][];
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, callers).Select(caller => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                labels[caller] = images.Select((b, i) => pool.Predict(b, $"image {i}").PredictedLabel).ToArray();
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(errors);
        Assert.All(labels, l => Assert.Equal(expected, l));
    }
}
