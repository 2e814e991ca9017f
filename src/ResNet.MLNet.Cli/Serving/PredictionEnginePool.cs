using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace ResNet.MLNet.Cli.Serving;

/// <summary>
/// Hands out <see cref="ImageBytesPredictionEngine"/>s for one model, one caller at a time per engine (ML.NET's
/// <c>PredictionEnginePool</c> pattern on <c>Microsoft.Extensions.ObjectPool</c>): engines are created on demand,
/// reused, never shared between concurrent requests, and disposed with the pool.
/// </summary>
internal sealed class PredictionEnginePool : IDisposable
{
    private readonly ObjectPool<ImageBytesPredictionEngine> _pool;

    public PredictionEnginePool(MLContext ml, ImageBytesModel model)
    {
        Model = model;
        var provider = new DefaultObjectPoolProvider { MaximumRetained = Math.Max(2, Environment.ProcessorCount * 2) };
        _pool = provider.Create(new EnginePolicy(ml, model));
    }

    /// <summary>The model the engines score with.</summary>
    public ImageBytesModel Model { get; }

    /// <summary>Classifies one encoded image with an engine of its own.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a decodable image.</exception>
    public ImagePrediction Predict(ReadOnlySpan<byte> encodedImage, string source)
    {
        var engine = _pool.Get();
        try
        {
            return engine.Predict(encodedImage, source);
        }
        finally
        {
            _pool.Return(engine);
        }
    }

    public void Dispose() => (_pool as IDisposable)?.Dispose();

    private sealed class EnginePolicy(MLContext ml, ImageBytesModel model) : IPooledObjectPolicy<ImageBytesPredictionEngine>
    {
        public ImageBytesPredictionEngine Create() => model.CreatePredictionEngine(ml);

        public bool Return(ImageBytesPredictionEngine obj) => true;
    }
}
