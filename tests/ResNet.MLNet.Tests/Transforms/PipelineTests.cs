using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Tests.Transforms;

public class PipelineTests
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    private static (MLContext Ml, IDataView Data, TestImages Images) Setup(int count = 6)
    {
        var images = new TestImages();
        var rows = Enumerable.Range(0, count).Select(i => new PathRow
        {
            ImagePath = images.Gradient($"img{i}.{(i % 2 == 0 ? "png" : "jpg")}", 40 + 7 * i, 30 + 5 * (i % 3), i,
                i % 2 == 0 ? SkiaSharp.SKEncodedImageFormat.Png : SkiaSharp.SKEncodedImageFormat.Jpeg),
            Label = i % 2 == 0 ? "even" : "odd",
        }).ToList();
        var ml = new MLContext(seed: 0);
        return (ml, ml.Data.LoadFromEnumerable(rows), images);
    }

    private static IEstimator<ITransformer> Pipeline(MLContext ml, ResizeMethod method = ResizeMethod.Crop) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImageFiles("Image", "ImagePath"))
            .Append(ml.Transforms.PresizeImages("Image", size: 32, method))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.Transforms.AugmentImages("Pixels", new AugmentOptions { MinScale = 0.5f, Size = 24, BatchSize = 4 }))
            .Append(ml.Transforms.NormalizeImages("Pixels", ImageStats.ImageNet));

    private static float[][] ReadPixels(IDataView view, Random? rand = null)
    {
        var column = view.Schema["Pixels"];
        using var cursor = view.GetRowCursor([column], rand);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var result = new List<float[]>();
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            result.Add(value.DenseValues().ToArray());
        }

        return result.ToArray();
    }

    [Theory]
    [InlineData(ResizeMethod.Crop)]
    [InlineData(ResizeMethod.Pad)]
    [InlineData(ResizeMethod.Squish)]
    public void ScoringInMemoryEqualsTheReloadedModelZip(ResizeMethod method)
    {
        var (ml, data, images) = Setup();
        using var cleanup = images;
        var model = Pipeline(ml, method).Fit(data);
        var scored = model.Transform(data);
        var type = Assert.IsType<VectorDataViewType>(scored.Schema["Pixels"].Type);
        Assert.Equal(NumberDataViewType.Single, type.ItemType);
        Assert.Equal([3, 24, 24], type.Dimensions.ToArray());

        string zip = Path.Combine(images.Folder, "model.zip");
        ml.Model.Save(model, data.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);
        var reloadedType = Assert.IsType<VectorDataViewType>(loaded.Transform(data).Schema["Pixels"].Type);
        Assert.Equal([3, 24, 24], reloadedType.Dimensions.ToArray());

        var expected = ReadPixels(scored);
        var actual = ReadPixels(loaded.Transform(data));
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(3 * 24 * 24, actual[i].Length);
            for (int j = 0; j < expected[i].Length; j++)
                Assert.True(Math.Abs(expected[i][j] - actual[i][j]) <= 1e-5, $"row {i} value {j}: {expected[i][j]} vs {actual[i][j]}");
        }

        // Scoring is deterministic: a second pass is identical.
        Assert.Equal(expected, ReadPixels(scored));
    }

    [Fact]
    public void TrainingPassesAugmentDifferentlyEachEpochAndReproduciblyPerSeed()
    {
        var (ml, data, images) = Setup(8);
        using var cleanup = images;
        var scored = Pipeline(ml).Fit(data).Transform(data);

        var epoch1 = ReadPixels(scored, new Random(1));
        var epoch1Again = ReadPixels(scored, new Random(1));
        var epoch2 = ReadPixels(scored, new Random(2));
        var scoring = ReadPixels(scored);
        Assert.Equal(8, epoch1.Length);
        Assert.Equal(epoch1, epoch1Again);
        Assert.NotEqual(epoch1, epoch2);
        // Training rows are augmented: the shuffled epoch contains no row equal to a validation-transformed row.
        Assert.DoesNotContain(epoch1, row => scoring.Any(s => s.SequenceEqual(row)));
    }
}
