using System.Text.Json;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Runtime;

/// <summary>
/// The step settings decided by earlier trials, kept in a small JSON file so that later runs of the same network, batch and
/// machine reuse the decision instead of timing again: a seed then repeats a run exactly. The file is
/// <c>step-trials.json</c> in the dataset cache folder (<see cref="DatasetCache"/>), or the path in the
/// <c>RESNET_MLNET_STEP_TRIALS</c> environment variable; deleting it makes the next run time again.
/// </summary>
internal sealed class StepTrialRecords(string path)
{
    /// <summary>The environment variable naming the records file.</summary>
    public const string EnvironmentVariable = "RESNET_MLNET_STEP_TRIALS";

    private static readonly Lock Gate = new();

    public string Path { get; } = path;

    /// <summary>The records file for this process: the environment variable's path, else the dataset cache's.</summary>
    public static StepTrialRecords Default =>
        new(Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } path
            ? System.IO.Path.GetFullPath(path)
            : System.IO.Path.Combine(DatasetCache.DefaultDirectory, "step-trials.json"));

    /// <summary>The recorded settings for <paramref name="key"/>, or null (also when the file is missing or unreadable).</summary>
    public StepSettings? Find(string key)
    {
        lock (Gate)
            return Read().TryGetValue(key, out var record) ? new StepSettings(record.ChannelsLast, record.HalfPrecision) : null;
    }

    /// <summary>Records <paramref name="settings"/> for <paramref name="key"/> (the file is replaced atomically); false when it cannot be written.</summary>
    public bool Save(string key, StepSettings settings)
    {
        lock (Gate)
        {
            var records = Read();
            records[key] = new Record(settings.ChannelsLast, settings.HalfPrecision);
            try
            {
                IO.AtomicFile.WriteAllText(Path, JsonSerializer.Serialize(records, Options));
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }

    private Dictionary<string, Record> Read()
    {
        try
        {
            if (File.Exists(Path))
                return JsonSerializer.Deserialize<Dictionary<string, Record>>(File.ReadAllText(Path), Options) ?? [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { }
        return [];
    }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private sealed record Record(bool ChannelsLast, TorchSharp.torch.ScalarType? HalfPrecision);
}
