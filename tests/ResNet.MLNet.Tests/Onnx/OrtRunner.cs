using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ResNet.MLNet.Tests.Onnx;

/// <summary>Runs ONNX models with ONNX Runtime for the tests.</summary>
internal static class OrtRunner
{
    public sealed record Output(string Name, long[] Shape, float[]? Floats, long[]? Int64s, string[]? Strings);

    public static Output[] Run(byte[] model, params (string Name, float[] Data, long[] Shape)[] inputs)
    {
        using var session = new InferenceSession(model);
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToArray();
        try
        {
            using var options = new RunOptions();
            using var results = session.Run(options, inputs.Select(i => i.Name).ToArray(), values, session.OutputNames);
            return session.OutputNames.Zip(results, (name, r) =>
            {
                var info = r.GetTensorTypeAndShape();
                return info.ElementDataType switch
                {
                    TensorElementType.Float => new Output(name, info.Shape, r.GetTensorDataAsSpan<float>().ToArray(), null, null),
                    TensorElementType.Int64 => new Output(name, info.Shape, null, r.GetTensorDataAsSpan<long>().ToArray(), null),
                    TensorElementType.String => new Output(name, info.Shape, null, null, r.GetStringTensorAsArray()),
                    var other => throw new NotSupportedException($"Output {name}: {other}"),
                };
            }).ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public static float[] RunSingle(byte[] model, string input, float[] data, params long[] shape) =>
        Run(model, (input, data, shape))[0].Floats!;
}
