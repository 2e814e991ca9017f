using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Scoring;

/// <summary>Row-to-row form of <see cref="ResNetTransformer"/> (PredictionEngine scores one row at a time through it).</summary>
internal sealed class ScoringRowMapper : IRowToRowMapper
{
    private readonly ResNetTransformer _model;
    private readonly DataViewSchema.Column _features;

    public ScoringRowMapper(ResNetTransformer model, DataViewSchema inputSchema)
    {
        _model = model;
        InputSchema = inputSchema;
        _features = model.CheckInput(inputSchema);
        OutputSchema = model.GetOutputSchema(inputSchema);
    }

    public DataViewSchema InputSchema { get; }
    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        int n = InputSchema.Count;
        var needed = dependingColumns.Where(c => c.Index < n).Select(c => InputSchema[c.Index]).ToList();
        if (dependingColumns.Any(c => c.Index >= n) && needed.All(c => c.Index != _features.Index)) needed.Add(_features);
        return needed;
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        var active = activeColumns.Select(c => c.Index).ToHashSet();
        bool scoring = active.Contains(InputSchema.Count) || active.Contains(InputSchema.Count + 1);
        return new Row(this, input, active, scoring ? new RowScorer(_model, input, _features) : null);
    }

    private sealed class Row(ScoringRowMapper mapper, DataViewRow input, HashSet<int> active, RowScorer? scorer) : DataViewRow
    {
        public override DataViewSchema Schema => mapper.OutputSchema;
        public override long Position => input.Position;
        public override long Batch => input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int n = mapper.InputSchema.Count;
            if (column.Index < n) return input.GetGetter<TValue>(mapper.InputSchema[column.Index]);
            if (scorer is null) throw new InvalidOperationException($"Column '{column.Name}' was not requested from this row.");
            Delegate getter = column.Index == n ? scorer.ScoreGetter : scorer.PredictedLabelGetter;
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }
    }
}
