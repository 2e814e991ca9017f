using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Serving;

/// <summary>fastai's tta on a fitted pipeline: augmented training passes in data order, blended with the plain pass.</summary>
public sealed class TestTimeAugmentationTests(TrainedClassifier trained) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void TtaIsTheLerpOfTheAugmentedMeanAndThePlainPass()
    {
        var result = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, new TtaOptions { Passes = 3, Seed = 5 });

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
        var again = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, new TtaOptions { Passes = 3, Seed = 5 });
        Assert.Equal(result.Probabilities, again.Probabilities);
    }

    [Fact]
    public void UseMaxTakesTheLargestProbabilityOverTheAugmentedPasses()
    {
        var mean = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, new TtaOptions { Passes = 2, Beta = 0 });
        var max = TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, new TtaOptions { Passes = 2, UseMax = true });

        Assert.Equal(mean.Augmented, mean.Probabilities);
        Assert.Equal(max.Augmented, max.Probabilities);
        for (int row = 0; row < mean.Probabilities.Count; row++)
            for (int c = 0; c < mean.Probabilities[row].Length; c++)
                Assert.True(max.Probabilities[row][c] >= mean.Probabilities[row][c] - 1e-6f);
        Assert.Throws<ArgumentOutOfRangeException>(() => TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, new TtaOptions { Passes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestTimeAugmentation.Predict(trained.Model, trained.Data.Valid, new TtaOptions { Beta = 2 }));
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
}
