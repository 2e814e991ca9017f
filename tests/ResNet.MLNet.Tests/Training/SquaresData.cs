using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests.Training;

/// <summary>Tiny in-memory images: a coloured square (colour = class) at a random place on a noisy grey background.</summary>
internal static class SquaresData
{
    public const int Size = 16;
    public static readonly string[] Classes = ["red", "green", "blue", "yellow"];

    public sealed class Row
    {
        [VectorType(3, Size, Size)]
        public float[] Pixels { get; set; } = [];
        public string Label { get; set; } = "";
        public bool IsValid { get; set; }
    }

    public static Row[] Rows(int perClassTrain, int perClassValid, int seed = 1)
    {
        var random = new Random(seed);
        var colours = new (float R, float G, float B)[] { (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0) };
        var rows = new List<Row>();
        foreach (bool valid in new[] { false, true })
            for (int i = 0; i < (valid ? perClassValid : perClassTrain); i++)
                for (int c = 0; c < Classes.Length; c++)
                {
                    var pixels = new float[3 * Size * Size];
                    for (int p = 0; p < pixels.Length; p++) pixels[p] = 0.5f + 0.3f * (float)(random.NextDouble() - 0.5);
                    int side = random.Next(5, 9), x0 = random.Next(0, Size - side), y0 = random.Next(0, Size - side);
                    float[] rgb = [colours[c].R, colours[c].G, colours[c].B];
                    for (int ch = 0; ch < 3; ch++)
                        for (int y = y0; y < y0 + side; y++)
                            for (int x = x0; x < x0 + side; x++)
                                pixels[ch * Size * Size + y * Size + x] = rgb[ch];
                    rows.Add(new Row { Pixels = pixels, Label = Classes[c], IsValid = valid });
                }
        return rows.ToArray();
    }

    /// <summary>Trainer options for the squares: SimpleCnn on the CPU, batch 8, silent, the given layout and seed.</summary>
    public static ResNetTrainer.Options TrainerOptions(int epochs = 1, bool? channelsLast = false, int seed = 3) => new()
    {
        FeatureColumnName = "Pixels", ValidationColumnName = "IsValid", Architecture = Architectures.SimpleCnn,
        Epochs = epochs, MaxLearningRate = 1e-2f, BatchSize = 8, Device = "cpu", Seed = seed, Log = TextWriter.Null, ChannelsLast = channelsLast,
    };

    /// <summary>Rows loaded and label mapped to a key, as the pipeline before the trainer does it.</summary>
    public static IDataView Load(MLContext ml, int perClassTrain = 48, int perClassValid = 16, int seed = 1)
    {
        var data = ml.Data.LoadFromEnumerable(Rows(perClassTrain, perClassValid, seed));
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
    }
}
