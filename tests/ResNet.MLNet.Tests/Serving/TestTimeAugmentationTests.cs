using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>fastai's tta on a fitted pipeline: augmented training passes in data order, blended with the plain pass.</summary>
public sealed class TestTimeAugmentationTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void TtaIsTheLerpOfTheAugmentedMeanAndThePlainPass()
    {
        var result = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, passes: 3, seed: 5);

        var plain = trained.Model.Transform(trained.Data.Valid).GetColumn<float[]>("Score").ToArray();
        Assert.Equal(trained.Data.Classes, result.ClassNames);
        Assert.Equal(plain.Length, result.Probabilities.Count);
        for (int row = 0; row < plain.Length; row++)
        {
            Assert.Equal(plain[row], result.Plain[row]);
            for (int c = 0; c < plain[row].Length; c++)
                Assert.Equal(0.75f * result.Augmented[row][c] + 0.25f * plain[row][c], result.Probabilities[row][c], 5);
            Assert.Equal(1f, result.Probabilities[row].Sum(), 4);
        }

        double largest = result.Augmented.Zip(plain, (a, p) => a.Zip(p, (x, y) => Math.Abs(x - y)).Max()).Max();
        Assert.True(largest > 1e-3, $"the augmented passes should differ from the plain one (largest difference {largest})");
        var again = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, passes: 3, seed: 5);
        Assert.Equal(result.Probabilities, again.Probabilities);
    }

    [Fact]
    public void UseMaxTakesTheLargestProbabilityOverTheAugmentedPasses()
    {
        var mean = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, passes: 2, beta: 0);
        var max = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, passes: 2, useMax: true);

        Assert.Equal(mean.Augmented, mean.Probabilities);
        Assert.Equal(max.Augmented, max.Probabilities);
        for (int row = 0; row < mean.Probabilities.Count; row++)
            for (int c = 0; c < mean.Probabilities[row].Length; c++)
                Assert.True(max.Probabilities[row][c] >= mean.Probabilities[row][c] - 1e-6f);
        Assert.Throws<ArgumentOutOfRangeException>(() => TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, passes: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, beta: 2));
    }

    [Fact]
    public void AugmentedPassesReadTheRowsInDataOrder()
    {
        var scored = trained.Model.Transform(new InOrderDataView(trained.Data.Valid));
        var columns = new[] { scored.Schema["ImagePath"], scored.Schema["Score"] };
        var paths = new List<string>();
        using (var cursor = scored.GetRowCursor(columns, new Random(1)))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(columns[0]);
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                paths.Add(value.ToString());
            }
        }

        Assert.Equal(trained.ValidImages, paths);
        // Over the image folder itself, a training pass shuffles: the wrapper is what keeps the order.
        var shuffled = trained.Model.Transform(trained.Data.Valid);
        using var shuffledCursor = shuffled.GetRowCursor([shuffled.Schema["ImagePath"]], new Random(1));
        var shuffledPaths = new List<string>();
        var shuffledGetter = shuffledCursor.GetGetter<ReadOnlyMemory<char>>(shuffled.Schema["ImagePath"]);
        ReadOnlyMemory<char> path = default;
        while (shuffledCursor.MoveNext())
        {
            shuffledGetter(ref path);
            shuffledPaths.Add(path.ToString());
        }

        Assert.NotEqual(trained.ValidImages, shuffledPaths);
    }

    [Fact]
    public void AReloadedModelZipGetsItsAugmentationRebuiltInFrontOfItsNetwork()
    {
        var ml = new MLContext(seed: 0);
        var loaded = ml.Model.Load(trained.ModelPath, out var inputSchema);
        var augmenting = TestTimeAugmentation.WithAugmentation(ml, loaded, inputSchema, trained.Data.Valid);

        var result = TestTimeAugmentation.Predict(augmenting, trained.Data.Valid, passes: 2);

        // The rebuilt scoring pass is the model.zip's; the augmented passes are not.
        var reloaded = loaded.Transform(trained.Data.Valid).GetColumn<float[]>("Score").ToArray();
        for (int row = 0; row < reloaded.Length; row++)
            for (int c = 0; c < reloaded[row].Length; c++)
                Assert.Equal(reloaded[row][c], result.Plain[row][c], 5);
        double largest = result.Augmented.Zip(reloaded, (a, p) => a.Zip(p, (x, y) => Math.Abs(x - y)).Max()).Max();
        Assert.True(largest > 1e-3, $"the augmented passes should differ from the plain one (largest difference {largest})");
    }

    [Fact]
    public async Task EvaluateWithTtaPrintsTtaAndPlainAccuracy()
    {
        var (code, output, error) = await Cli.CliRun.RunAsync("evaluate", "--model", trained.ModelPath, "--data", trained.DataFolder,
            "--out", trained.Combine("tta"), "--tta", "--tta-n", "2");

        Assert.True(code == 0, error);
        Assert.Matches(@"tta \(n=2, beta=0.25\): accuracy \d\.\d{4}   log-loss \d+\.\d{4}   \(plain: accuracy \d\.\d{4}", output);
    }
}
