using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Benchmarks.Harness;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (4) Scoring the fitted chain in memory (TorchSharp network) and reloaded from model.zip (stock ML.NET + ONNX Runtime):
/// batch <c>Transform</c> throughput over the validation and training images (decode, presize, centre crop, normalise,
/// network), <c>PredictionEngine</c> single-image latency p50/p99, and one single-image TorchSharp forward pass.
/// </summary>
public static class Scoring
{
    public const string Section = "4 scoring";

    public static void Run(ResultTable table, FittedPipeline fitted, string output, bool quick)
    {
        string name = fitted.Trainer.ArchitectureName;
        string zip = Path.Combine(output, $"model-{name}.zip");
        fitted.Ml.Model.Save(fitted.Model, fitted.Data.Train.Schema, zip);
        var reloadMl = new MLContext();
        var reloaded = reloadMl.Model.Load(zip, out _);
        var rows = fitted.Data.Train;
        long count = fitted.Data.TrainCount;
        int runs = quick ? 2 : 3;

        foreach (var (label, model) in new[] { ("in-memory", fitted.Model), ("model.zip", reloaded) })
        {
            var sample = Sample.Measure(() => Consume(model.Transform(rows)), warmup: 1, runs);
            table.Add(new Result(Section, $"{name} {label}", "Transform images/s", count / sample.Median, "img/s",
                $"±{sample.SpreadPercent:F1}% over {runs} passes of {count} JPEGs (decode included)"));
        }
        double? inMemory = table.Find(Section, $"{name} in-memory", "Transform images/s");
        double? fromZip = table.Find(Section, $"{name} model.zip", "Transform images/s");
        if (inMemory is double a && fromZip is double b)
            table.Add(new Result(Section, name, "model.zip / in-memory Transform", b / a, "×", "target ≥ 1.0"));

        var paths = fitted.Data.Items.Select(i => i.ImagePath).ToArray();
        int calls = quick ? 100 : 300;
        double forward = SingleForward(fitted.Trainer.Model, quick ? 50 : 200);
        table.Add(new Result(Section, $"{name} TorchSharp", "single-image forward p50", forward * 1000, "ms", "1×3×128×128, eval, no_grad"));
        foreach (var (label, ml, model) in new[] { ("in-memory", fitted.Ml, fitted.Model), ("model.zip", reloadMl, reloaded) })
        {
            using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model);
            var latencies = new double[calls];
            for (int i = 0; i < 10; i++) engine.Predict(new ImageInput { ImagePath = paths[i % paths.Length] });
            for (int i = 0; i < calls; i++)
            {
                var input = new ImageInput { ImagePath = paths[i % paths.Length] };
                long start = Stopwatch.GetTimestamp();
                engine.Predict(input);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(latencies);
            double p50 = latencies[calls / 2], p99 = latencies[(int)Math.Ceiling(calls * 0.99) - 1];
            table.Add(new Result(Section, $"{name} {label}", "PredictionEngine p50", p50, "ms", $"{calls} calls, JPEG decode included"));
            table.Add(new Result(Section, $"{name} {label}", "PredictionEngine p99", p99, "ms"));
            table.Add(new Result(Section, $"{name} {label}", "PE p50 / single forward", p50 / (forward * 1000), "×", "target ≤ 2"));
        }
    }

    private static void Consume(IDataView scored)
    {
        var column = scored.Schema["Score"];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        while (cursor.MoveNext()) getter(ref value);
    }

    /// <summary>Median seconds of one forward pass of a single 128 px image.</summary>
    private static double SingleForward(nn.Module<Tensor, Tensor> model, int calls)
    {
        model.eval();
        using var noGrad = no_grad();
        using var x = randn(1, 3, 128, 128);
        for (int i = 0; i < 5; i++) { using var scope = NewDisposeScope(); model.forward(x).softmax(1); }
        var seconds = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            using var scope = NewDisposeScope();
            long start = Stopwatch.GetTimestamp();
            model.forward(x).softmax(1).data<float>().ToArray();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(seconds);
        return seconds[calls / 2];
    }
}
