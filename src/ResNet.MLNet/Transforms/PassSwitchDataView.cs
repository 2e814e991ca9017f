using System.Diagnostics.CodeAnalysis;
using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Transforms.Batching;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// The output of a transform that behaves differently on training and scoring passes. A cursor requested with a
/// non-null <see cref="Random"/> is a training pass and comes from <c>training</c> (which receives that Random);
/// a cursor without one is a scoring pass and comes from <c>scoring</c> (the stock, persisted ML.NET chain, so
/// in-memory scoring equals a reloaded model.zip). Both views share their visible columns' names and types; the
/// schema is the scoring view's.
/// </summary>
internal sealed class PassSwitchDataView : IDataView
{
    private readonly IDataView _scoring;
    private readonly IDataView _training;
    private readonly int[] _trainingIndex;   // scoring column index → training column index (−1: not available)

    public PassSwitchDataView(IDataView scoring, IDataView training)
    {
        _scoring = scoring;
        _training = training;
        _trainingIndex = new int[scoring.Schema.Count];
        foreach (var column in scoring.Schema)
        {
            int index = -1;
            if (!column.IsHidden)
            {
                var match = training.Schema.GetColumnOrNull(column.Name)
                    ?? throw new InvalidOperationException($"Training view lacks column '{column.Name}'.");
                if (!match.Type.Equals(column.Type))
                    throw new InvalidOperationException(
                        $"Column '{column.Name}' is {column.Type} when scoring but {match.Type} on training passes.");
                index = match.Index;
            }

            _trainingIndex[column.Index] = index;
        }
    }

    public bool CanShuffle => _scoring.CanShuffle;

    public DataViewSchema Schema => _scoring.Schema;

    public long? GetRowCount() => _scoring.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        if (rand is null) return _scoring.GetRowCursor(columnsNeeded);
        var mapped = columnsNeeded.Select(c => _trainingIndex[c.Index] >= 0
            ? _training.Schema[_trainingIndex[c.Index]]
            : throw new InvalidOperationException($"Hidden column '{c.Name}' is not available on training passes.")).ToArray();
        return new MappedCursor(Schema, _training.GetRowCursor(mapped, rand), _trainingIndex);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        rand is null ? _scoring.GetRowCursorSet(columnsNeeded, n) : [GetRowCursor(columnsNeeded, rand)];


    /// <summary>A training-view cursor presented with the scoring schema.</summary>
    private sealed class MappedCursor(DataViewSchema schema, DataViewRowCursor inner, int[] map) : DataViewRowCursor, ITensorBatchCursor
    {
        public bool TryGetBatchTensor(DataViewSchema.Column column, [NotNullWhen(true)] out Tensor? batch, out int row)
        {
            if (inner is ITensorBatchCursor tensors && map[column.Index] >= 0)
                return tensors.TryGetBatchTensor(inner.Schema[map[column.Index]], out batch, out row);
            batch = null;
            row = -1;
            return false;
        }

        public void ReadOnlyWhere(DataViewSchema.Column column, bool value)
        {
            if (inner is ITensorBatchCursor tensors && map[column.Index] >= 0)
                tensors.ReadOnlyWhere(inner.Schema[map[column.Index]], value);
        }

        public override DataViewSchema Schema => schema;
        public override long Position => inner.Position;
        public override long Batch => inner.Batch;
        public override bool MoveNext() => inner.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            map[column.Index] >= 0 && inner.IsColumnActive(inner.Schema[map[column.Index]]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            map[column.Index] >= 0
                ? inner.GetGetter<TValue>(inner.Schema[map[column.Index]])
                : throw new InvalidOperationException($"Column '{column.Name}' is not active.");

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
