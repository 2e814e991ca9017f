using System.Text;
using System.Text.Json;

namespace ResNet.MLNet.Benchmarks.Harness;

/// <summary>One measured number of a benchmark run.</summary>
public sealed record Result(string Section, string Case, string Metric, double Value, string Unit, string Notes = "");

/// <summary>Collects results, prints them as they arrive and writes the markdown table and JSON at the end.</summary>
public sealed class ResultTable
{
    private readonly List<Result> _results = new();

    public IReadOnlyList<Result> Results => _results;

    public void Add(Result result)
    {
        _results.Add(result);
        Console.WriteLine($"  {result.Section} | {result.Case} | {result.Metric}: {Format(result.Value)} {result.Unit} {result.Notes}");
    }

    public double? Find(string section, string @case, string metric) =>
        _results.LastOrDefault(r => r.Section == section && r.Case == @case && r.Metric == metric)?.Value;

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| section | case | metric | value | unit | notes |");
        text.AppendLine("|---|---|---|---:|---|---|");
        foreach (var r in _results)
            text.AppendLine($"| {r.Section} | {r.Case} | {r.Metric} | {Format(r.Value)} | {r.Unit} | {r.Notes} |");
        return text.ToString();
    }

    public void Write(string directory, IReadOnlyDictionary<string, string> environment)
    {
        Directory.CreateDirectory(directory);
        var header = new StringBuilder();
        foreach (var (key, value) in environment) header.AppendLine($"- {key}: {value}");
        File.WriteAllText(Path.Combine(directory, "results.md"), header + Environment.NewLine + ToMarkdown());
        var json = JsonSerializer.Serialize(new { environment, results = _results }, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(directory, "results.json"), json);
    }

    private static string Format(double value) => Math.Abs(value) >= 100 ? value.ToString("F0") : value.ToString("G4");
}
