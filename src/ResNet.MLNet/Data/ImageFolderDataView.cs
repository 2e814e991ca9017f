using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Data;

/// <summary>
/// An in-memory <see cref="IDataView"/> over image-folder rows with the columns <c>ImagePath</c> (text),
/// <c>Label</c> (text) and <c>IsValid</c> (boolean). It can shuffle: a cursor asked for with a
/// <see cref="Random"/> visits the rows in a permutation drawn from it.
/// </summary>
internal sealed class ImageFolderDataView : IDataView
{

    private readonly ReadOnlyMemory<char>[] _paths;
    private readonly ReadOnlyMemory<char>[] _labels;
    private readonly bool[] _isValid;

    public ImageFolderDataView(IReadOnlyList<ImageFolderItem> items)
    {
        _paths = items.Select(i => i.ImagePath.AsMemory()).ToArray();
        _labels = items.Select(i => i.Label.AsMemory()).ToArray();
        _isValid = items.Select(i => i.IsValid).ToArray();
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(DefaultColumnNames.ImagePath, TextDataViewType.Instance);
        builder.AddColumn(DefaultColumnNames.Label, TextDataViewType.Instance);
        builder.AddColumn(DefaultColumnNames.IsValid, BooleanDataViewType.Instance);
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => true;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _paths.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = new bool[Schema.Count];
        foreach (DataViewSchema.Column column in columnsNeeded)
        {
            if (column.Index < 0 || column.Index >= active.Length || !ReferenceEquals(Schema[column.Index].Type, column.Type) || Schema[column.Index].Name != column.Name)
                throw new ArgumentException($"Column '{column.Name}' does not belong to this image-folder view's schema.", nameof(columnsNeeded));
            active[column.Index] = true;
        }
        int[]? order = null;
        if (rand is not null)
        {
            order = Enumerable.Range(0, _paths.Length).ToArray();
            rand.Shuffle(order);
        }
        return new Cursor(this, active, order);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(ImageFolderDataView view, bool[] active, int[]? order) : DataViewRowCursor
    {
        private long _position = -1;
        private int _row = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_position + 1 >= view._paths.Length)
            {
                _position = view._paths.Length;
                _row = -1;
                return false;
            }
            _position++;
            _row = order is null ? (int)_position : order[_position];
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) =>
            {
                EnsureOnRow();
                value = new DataViewRowId((ulong)_row, 0);
            };

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index >= 0 && column.Index < active.Length && active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
            Delegate getter = column.Index switch
            {
                0 => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) => { EnsureOnRow(); value = view._paths[_row]; }),
                1 => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) => { EnsureOnRow(); value = view._labels[_row]; }),
                _ => (ValueGetter<bool>)((ref bool value) => { EnsureOnRow(); value = view._isValid[_row]; }),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        private void EnsureOnRow()
        {
            if (_row < 0)
                throw new InvalidOperationException("The cursor is not on a row: call MoveNext first, and stop when it returns false.");
        }
    }
}
