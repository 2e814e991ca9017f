using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ResNet.MLNet.Benchmarks.Harness;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// (4) Scoring the fitted chain in memory (TorchSharp network) and reloaded from model.zip (stock ML.NET + ONNX Runtime):
/// batch <c>Transform</c> throughput over the validation and training images (decode, presize, centre crop, normalise,
/// network), <c>PredictionEngine</c> single-image latency p50/p99, and one single-image forward pass of the network in
/// the engine that path runs it with: TorchSharp for the in-memory model, ONNX Runtime for model.zip.
/// </summary>
public static class ScoringRuns
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

        // Paired: the two paths alternate pass by pass, and the ratio is the median of the per-pair ratios.
        Consume(fitted.Model.Transform(rows));
        Consume(reloaded.Transform(rows));
        var memorySeconds = new List<double>();
        var zipSeconds = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            memorySeconds.Add(Seconds(() => Consume(fitted.Model.Transform(rows))));
            zipSeconds.Add(Seconds(() => Consume(reloaded.Transform(rows))));
        }
        // The fitted chain reads the training rows from the image cache its Fit filled; model.zip decodes every JPEG.
        foreach (var (label, seconds, source) in new[] { ("in-memory", memorySeconds, "pixels from the image cache filled at Fit"), ("model.zip", zipSeconds, "decode included") })
        {
            var sample = new Sample(seconds);
            table.Add(new Result(Section, $"{name} {label}", "Transform images/s", count / sample.Median, "img/s",
                $"±{sample.SpreadPercent:F1}% over {runs} passes of {count} JPEGs ({source})"));
        }
        var ratio = new Sample(memorySeconds.Zip(zipSeconds, (m, z) => m / z).ToArray());
        table.Add(new Result(Section, name, "model.zip / in-memory Transform", ratio.Median, "×",
            $"the cost of decoding in model.zip against the fitted chain's cache; median of {runs} alternating pairs (range {ratio.Min:F2}–{ratio.Max:F2})"));

        var paths = fitted.Data.Items.Select(i => i.ImagePath).ToArray();
        int calls = quick ? 100 : 300;
        double torchForward = SingleForward(fitted.Trainer.Model, quick ? 50 : 200);
        table.Add(new Result(Section, $"{name} TorchSharp", "single-image forward p50", torchForward * 1000, "ms", "1×3×128×128, eval, no_grad, softmax"));
        double ortForward = SingleOrtForward(fitted.Trainer.Model, quick ? 50 : 200);
        table.Add(new Result(Section, $"{name} ONNX Runtime", "single-image forward p50", ortForward * 1000, "ms", "1×3×128×128, the exported network with softmax"));
        double decode = DecodeOnly(paths, calls);
        table.Add(new Result(Section, "JPEG decode alone", "p50", decode * 1000, "ms",
            $"MLImage.CreateFromFile, {calls} calls over the same files: every PredictionEngine call pays it"));
        foreach (var (label, ml, model, forward, engineName) in new[]
        {
            ("in-memory", fitted.Ml, fitted.Model, torchForward, "TorchSharp"), ("model.zip", reloadMl, reloaded, ortForward, "ONNX Runtime"),
        })
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
            table.Add(new Result(Section, $"{name} {label}", "PE p50 / single forward", p50 / (forward * 1000), "×",
                $"target ≤ 2; the {engineName} forward; the rest of a call is JPEG decode, presize, centre crop and normalise"));
            table.Add(new Result(Section, $"{name} {label}", "floor: (decode + forward) / forward", (decode + forward) / forward, "×",
                "the least a call can cost relative to its forward, with decoding"));
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

    /// <summary>Median seconds of decoding one of <paramref name="paths"/> (what ML.NET's LoadImages does per row).</summary>
    private static double DecodeOnly(string[] paths, int calls)
    {
        for (int i = 0; i < 10; i++) { using var warm = MLImage.CreateFromFile(paths[i % paths.Length]); }
        var seconds = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using (MLImage.CreateFromFile(paths[i % paths.Length])) { }
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(seconds);
        return seconds[calls / 2];
    }

    /// <summary>Median seconds of one ONNX Runtime forward pass of a single 128 px image through the exported network.</summary>
    private static double SingleOrtForward(nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> model, int calls)
    {
        var onnx = Onnx.OnnxExporter.Export(model, new Onnx.OnnxExportOptions { ImageHeight = 128, ImageWidth = 128, AddSoftmax = true });
        using var session = new InferenceSession(onnx);
        var input = new DenseTensor<float>(new float[3 * 128 * 128], [1, 3, 128, 128]);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), input) };
        for (int i = 0; i < 5; i++) { using var warm = session.Run(inputs); }
        var seconds = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using (var results = session.Run(inputs)) results.First().AsTensor<float>().ToArray();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(seconds);
        return seconds[calls / 2];
    }

    /// <summary>Median seconds of one forward pass of a single 128 px image.</summary>
    private static double SingleForward(nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> model, int calls)
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

    private static double Seconds(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
