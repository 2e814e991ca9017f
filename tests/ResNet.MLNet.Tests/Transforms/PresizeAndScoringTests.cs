using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms;
using SkiaSharp;

namespace ResNet.MLNet.Tests.Transforms;

public class PresizeAndScoringTests
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private static byte[][] Read(IDataView view, string column, Random? rand)
    {
        using var cursor = view.GetRowCursor([view.Schema[column]], rand);
        var getter = cursor.GetGetter<VBuffer<byte>>(view.Schema[column]);
        var rows = new List<byte[]>();
        VBuffer<byte> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows.Add(value.DenseValues().ToArray());
        }

        return rows.ToArray();
    }

    [Fact]
    public void CropIsCentredWhenScoringAndRandomOnTrainingPasses()
    {
        using var images = new TestImages();
        // A wide image whose red channel encodes the column: any 20-pixel window is identified by its first column.
        string path = images.Write("wide.png", 80, 20, (x, _) => new SKColor((byte)(3 * x), 0, 0));
        var ml = new MLContext(seed: 0);
        // A source that can shuffle (a cache, like ImageFolder's views): ML.NET's own transforms pass the training
        // Random upstream only through views that report CanShuffle.
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(new[] { new PathRow { ImagePath = path } }));
        var view = ml.Transforms.LoadImageFiles("Image", "ImagePath")
            .Append(ml.Transforms.PresizeImages("Image", 20, ResizeMethod.Crop))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
            .Fit(data).Transform(data);

        byte centre = Read(view, "Pixels", null)[0][0];
        Assert.InRange(centre, 3 * 30 - 3, 3 * 30 + 3);             // window starting at column 30 of 80
        var starts = Enumerable.Range(0, 12).Select(seed => Read(view, "Pixels", new Random(seed))[0][0]).ToArray();
        Assert.True(starts.Distinct().Count() >= 4, $"training crops should move: {string.Join(", ", starts)}");
        Assert.Contains(starts, s => s < 60);
        Assert.Contains(starts, s => s > 120);
    }

    [Fact]
    public void PadReflectsOnTrainingPassesAndUsesStockIsoPadWhenScoring()
    {
        using var images = new TestImages();
        string path = images.Write("wide.png", 40, 10, (_, _) => new SKColor(200, 200, 200));
        var ml = new MLContext(seed: 0);
        // A source that can shuffle (a cache, like ImageFolder's views): ML.NET's own transforms pass the training
        // Random upstream only through views that report CanShuffle.
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(new[] { new PathRow { ImagePath = path } }));
        var view = ml.Transforms.LoadImageFiles("Image", "ImagePath")
            .Append(ml.Transforms.PresizeImages("Image", 20, ResizeMethod.Pad))
            .Append(ml.Transforms.ImagesToTensor("Pixels", "Image"))
            .Fit(data).Transform(data);

        var scored = Read(view, "Pixels", null)[0];
        Assert.Equal(0, scored[0]);                                  // black bar above the centred image
        Assert.InRange(scored[10 * 20 + 10], 190, 210);
        var trained = Read(view, "Pixels", new Random(1))[0];
        Assert.All(trained, v => Assert.InRange(v, 190, 210));       // reflection fills the square with image content
    }

    private sealed class FloatPixels
    {
        [VectorType(3, 12, 16)] public float[] Pixels { get; set; } = [];
    }

    private sealed class FloatPrediction
    {
        [VectorType(3, 8, 8)] public float[] Pixels { get; set; } = [];
    }

    [Fact]
    public void SinglePixelsScoreTheSameInMemoryReloadedAndThroughAPredictionEngine()
    {
        var random = new Random(4);
        var rows = Enumerable.Range(0, 3).Select(_ => new FloatPixels
        {
            Pixels = Enumerable.Range(0, 3 * 12 * 16).Select(_ => (float)random.NextDouble()).ToArray(),
        }).ToArray();
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.AugmentImages("Pixels", new AugmentOptions { Size = 8 })
            .Append(ml.Transforms.NormalizeImages("Pixels")).Fit(data);
        var inMemory = model.Transform(data).GetColumn<float[]>("Pixels").ToArray();

        string zip = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, zip);
            var loaded = new MLContext().Model.Load(zip, out _);
            var reloaded = loaded.Transform(data).GetColumn<float[]>("Pixels").ToArray();
            using var engine = ml.Model.CreatePredictionEngine<FloatPixels, FloatPrediction>(model);
            for (int i = 0; i < rows.Length; i++)
            {
                var predicted = engine.Predict(rows[i]).Pixels;
                Assert.Equal(3 * 8 * 8, inMemory[i].Length);
                for (int j = 0; j < inMemory[i].Length; j++)
                {
                    Assert.True(Math.Abs(inMemory[i][j] - reloaded[i][j]) <= 1e-5);
                    Assert.True(Math.Abs(inMemory[i][j] - predicted[j]) <= 1e-5);
                }
            }

            // The validation transform: the centred 12×12 square (columns 2..13) resized to 8×8, then normalised.
            float corner = (rows[0].Pixels[2] - 0.485f) / 0.229f;
            Assert.Equal(corner, inMemory[0][0], 4);
        }
        finally
        {
            File.Delete(zip);
        }
    }
}
