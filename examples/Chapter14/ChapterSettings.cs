using System.Globalization;

namespace Chapter14;

/// <summary>
/// Command-line settings of the example. The notebook's settings are the defaults on real data; on the built-in
/// synthetic data (the default) the sizes and epochs shrink so the whole chapter runs in a few minutes on a CPU.
/// </summary>
internal sealed class ChapterSettings
{
    public string Data { get; private init; } = "synthetic";
    public int? Epochs { get; private init; }
    public float? MaxLearningRate { get; private init; }
    public int? BatchSize { get; private init; }
    public string Experiments { get; private init; } = "ABCDE";
    public string Output { get; private init; } = Path.Combine("runs", "chapter14");
    public bool MixedPrecision { get; private init; }

    /// <summary>After model D, continue its weights at a larger image size (fastai's progressive resizing, fastbook ch. 7).</summary>
    public bool Progressive { get; private init; }
    public string Device { get; private init; } = "auto";

    /// <summary>
    /// Time the whole chapter may take on the synthetic data; model E's epochs are sized to fit what is left of it
    /// (between 1 and 4), since a ResNet-50 costs several times the other models and CPUs differ about 2×.
    /// </summary>
    public TimeSpan Budget { get; private init; } = TimeSpan.FromMinutes(3.5);

    public bool IsSynthetic => Data.Equals("synthetic", StringComparison.OrdinalIgnoreCase);

    public const string Usage =
        "Usage: Chapter14 [--data synthetic|imagenette2-160|imagenette2-320|imagewoof2-160|imagewoof2-320|fashion-mnist|<folder>]\n" +
        "                 [--experiments ABCDE] [--epochs N] [--lr X] [--bs N] [--fp16] [--progressive] [--device auto|cpu|cuda] [--out folder]\n" +
        "                 [--minutes M]   (synthetic data: the time budget model E's epochs are sized to; default 3.5)";

    public static ChapterSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        bool fp16 = false, progressive = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--fp16") { fp16 = true; continue; }
            if (args[i] == "--progressive") { progressive = true; continue; }
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"Unexpected argument '{args[i]}'.\n{Usage}");
            values[args[i][2..]] = args[++i];
        }
        string[] known = { "data", "experiments", "epochs", "lr", "bs", "device", "out", "minutes" };
        foreach (string key in values.Keys)
            if (!known.Contains(key, StringComparer.OrdinalIgnoreCase))
                throw new ArgumentException($"Unknown option '--{key}'.\n{Usage}");

        return new ChapterSettings
        {
            Data = values.GetValueOrDefault("data", "synthetic"),
            Experiments = values.GetValueOrDefault("experiments", "ABCDE").ToUpperInvariant(),
            Epochs = values.TryGetValue("epochs", out var e) ? ParseInt(e, "--epochs") : null,
            MaxLearningRate = values.TryGetValue("lr", out var lr) ? ParseFloat(lr, "--lr") : null,
            BatchSize = values.TryGetValue("bs", out var bs) ? ParseInt(bs, "--bs") : null,
            Device = values.GetValueOrDefault("device", "auto"),
            Output = values.GetValueOrDefault("out", Path.Combine("runs", "chapter14")),
            MixedPrecision = fp16,
            Progressive = progressive,
            Budget = values.TryGetValue("minutes", out var minutes) ? TimeSpan.FromMinutes(ParseFloat(minutes, "--minutes")) : TimeSpan.FromMinutes(3.5),
        };
    }

    private static int ParseInt(string text, string option) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new ArgumentException($"{option} needs a positive whole number, got '{text}'.");

    private static float ParseFloat(string text, string option) =>
        float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && value > 0
            ? value
            : throw new ArgumentException($"{option} needs a positive number, got '{text}'.");
}
