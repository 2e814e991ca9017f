using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet.Cli.Serving;

/// <summary>
/// Hands out <see cref="ImageBytesPredictionEngine"/>s for one model, one caller at a time per engine (ML.NET's
/// <c>PredictionEnginePool</c> pattern on <c>Microsoft.Extensions.ObjectPool</c>): engines are created on demand,
/// reused and never shared between concurrent requests. Engines beyond <see cref="MaximumRetained"/> are dropped,
/// never disposed: in ML.NET 5.0.1 disposing one engine breaks the other engines of the same model.
/// </summary>
internal sealed class PredictionEnginePool
{
    /// <summary>How many idle engines the pool keeps (more than the server's concurrent requests in practice).</summary>
    public const int MaximumRetained = 64;

    private readonly ObjectPool<ImageBytesPredictionEngine> _pool;

    /// <summary>A pool of engines for <paramref name="model"/> that refuse images above <paramref name="maxPixels"/> pixels.</summary>
    public PredictionEnginePool(MLContext ml, ImageBytesModel model, long maxPixels = ImageFilePolicy.DefaultMaxPixels)
    {
        Model = model;
        _pool = new DefaultObjectPool<ImageBytesPredictionEngine>(new EnginePolicy(ml, model, maxPixels), MaximumRetained);
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

    private sealed class EnginePolicy(MLContext ml, ImageBytesModel model, long maxPixels) : IPooledObjectPolicy<ImageBytesPredictionEngine>
    {
        public ImageBytesPredictionEngine Create()
        {
            var engine = model.CreatePredictionEngine(ml);
            engine.MaxPixels = maxPixels;
            return engine;
        }

        public bool Return(ImageBytesPredictionEngine obj) => true;
    }
}
