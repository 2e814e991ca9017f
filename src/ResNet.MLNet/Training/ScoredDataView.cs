using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Training;

/// <summary>The lazily scored view <see cref="ResNetTransformer.Transform"/> returns: input columns plus Score and PredictedLabel.</summary>
internal sealed class ScoredDataView : IDataView
{
    private readonly ResNetTransformer _model;
    private readonly IDataView _input;
    private readonly DataViewSchema.Column _features;

    public ScoredDataView(ResNetTransformer model, IDataView input)
    {
        _model = model;
        _input = input;
        _features = model.CheckInput(input.Schema);
        Schema = model.GetOutputSchema(input.Schema);
    }

    public DataViewSchema Schema { get; }
    public bool CanShuffle => _input.CanShuffle;
    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        int n = _input.Schema.Count;
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool scoring = needed.Contains(n) || needed.Contains(n + 1);
        var inputColumns = needed.Where(i => i < n).Select(i => _input.Schema[i]).ToList();
        if (scoring && !needed.Contains(_features.Index)) inputColumns.Add(_features);
        var cursor = _input.GetRowCursor(inputColumns, rand);
        return new Cursor(this, cursor, needed, scoring ? new RowScorer(_model, cursor, _features) : null);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(ScoredDataView view, DataViewRowCursor input, HashSet<int> active, RowScorer? scorer) : DataViewRowCursor
    {
        private readonly int _inputCount = view._input.Schema.Count;

        public override DataViewSchema Schema => view.Schema;
        public override long Position => input.Position;
        public override long Batch => input.Batch;
        public override bool MoveNext() => input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active.Contains(column.Index))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested from this cursor.");
            if (column.Index < _inputCount) return input.GetGetter<TValue>(view._input.Schema[column.Index]);
            Delegate getter = column.Index == _inputCount ? scorer!.ScoreGetter : scorer!.PredictedLabelGetter;
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) input.Dispose();
            base.Dispose(disposing);
        }
    }
}
