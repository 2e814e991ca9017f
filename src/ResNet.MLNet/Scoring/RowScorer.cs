using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Scoring;

/// <summary>Scores the current row of an input row/cursor once per position and serves <c>Score</c> and <c>PredictedLabel</c>.</summary>
internal sealed class RowScorer
{
    private readonly ResNetTransformer _model;
    private readonly DataViewRow _input;
    private readonly ValueGetter<VBuffer<float>> _features;
    private readonly float[] _pixels;
    private readonly float[] _probabilities;
    private VBuffer<float> _buffer;
    private long _scoredPosition = -1;
    private uint _predicted;

    public RowScorer(ResNetTransformer model, DataViewRow input, DataViewSchema.Column features)
    {
        _model = model;
        _input = input;
        _features = input.GetGetter<VBuffer<float>>(features);
        _pixels = new float[model.ImageShape[0] * model.ImageShape[1] * model.ImageShape[2]];
        _probabilities = new float[model.ClassNames.Count];
    }

    public ValueGetter<VBuffer<float>> ScoreGetter => (ref VBuffer<float> dst) =>
    {
        Ensure();
        var editor = VBufferEditor.Create(ref dst, _probabilities.Length);
        _probabilities.AsSpan().CopyTo(editor.Values);
        dst = editor.Commit();
    };

    public ValueGetter<uint> PredictedLabelGetter => (ref uint dst) =>
    {
        Ensure();
        dst = _predicted;
    };

    private void Ensure()
    {
        if (_scoredPosition == _input.Position) return;
        _features(ref _buffer);
        if (_buffer.Length != _pixels.Length)
            throw new InvalidOperationException($"Column '{_model.FeatureColumnName}' holds {_buffer.Length} values at row {_input.Position}; expected {_pixels.Length}.");
        _buffer.CopyTo(_pixels);
        _model.Score(_pixels, 1, _probabilities);
        _predicted = (uint)ResNetTransformer.ArgMax(_probabilities) + 1;
        _scoredPosition = _input.Position;
    }
}
