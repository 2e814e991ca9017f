using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Transforms.Caching;

/// <summary>
/// The input rows with the pixel column served from an <see cref="ImageStore"/> that holds every row's image: no file
/// is opened. Other columns come from the input's cursor, and so does the row order, so the view shuffles whenever
/// its input can (training passes read the stored pixels in random order).
/// </summary>
internal sealed class ImageStoreDataView : IDataView
{
    private readonly IDataView _input;
    private readonly ImageStore _store;
    private readonly DataViewSchema.Column _path;
    private readonly int _pixels;

    /// <param name="input">The rows; every path in <paramref name="pathColumn"/> must be stored.</param>
    /// <param name="store">The images.</param>
    /// <param name="pathColumn">The input's path column.</param>
    /// <param name="pixels">The pixel column as the stock chain writes it; it follows the input's columns.</param>
    public ImageStoreDataView(IDataView input, ImageStore store, DataViewSchema.Column pathColumn, DataViewSchema.Column pixels)
    {
        _input = input;
        _store = store;
        _path = pathColumn;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input.Schema);
        builder.AddColumn(pixels.Name, pixels.Type, pixels.Annotations);
        Schema = builder.ToSchema();
        _pixels = input.Schema.Count;
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => _input.CanShuffle;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        bool pixels = false;
        var needed = new List<DataViewSchema.Column>();
        foreach (var column in columnsNeeded)
        {
            if (column.Index == _pixels) pixels = true;
            else needed.Add(InputColumn(column));
        }
        if (pixels && !needed.Any(c => c.Index == _path.Index)) needed.Add(_path);
        return new Cursor(this, _input.GetRowCursor(needed, rand), pixels);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private DataViewSchema.Column InputColumn(DataViewSchema.Column column) =>
        column.Index >= 0 && column.Index < _pixels && _input.Schema[column.Index].Name == column.Name
            ? _input.Schema[column.Index]
            : throw new ArgumentException($"Column '{column.Name}' (index {column.Index}) is not a column of this view.", nameof(column));

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ImageStoreDataView _view;
        private readonly DataViewRowCursor _input;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _pathGetter;
        private ReadOnlyMemory<char> _pathValue;

        public Cursor(ImageStoreDataView view, DataViewRowCursor input, bool pixels)
        {
            _view = view;
            _input = input;
            if (pixels) _pathGetter = input.GetGetter<ReadOnlyMemory<char>>(view._path);
        }

        public override DataViewSchema Schema => _view.Schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == _view._pixels ? _pathGetter is not null : _input.IsColumnActive(_view.InputColumn(column));

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _view._pixels) return _input.GetGetter<TValue>(_view.InputColumn(column));
            if (_pathGetter is null)
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
            if (typeof(TValue) != typeof(VBuffer<byte>))
                throw new InvalidOperationException($"Column '{column.Name}' holds bytes; it cannot be read as {typeof(TValue).Name}.");
            ValueGetter<VBuffer<byte>> getter = ReadPixels;
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        private void ReadPixels(ref VBuffer<byte> value)
        {
            _pathGetter!(ref _pathValue);
            if (!_view._store.TryGetSlot(_pathValue.Span, out long slot))
                throw new InvalidOperationException($"Image file '{_pathValue}' is not in the image cache (row {Position}).");
            var pixels = _view._store.Pixels(slot);
            var editor = VBufferEditor.Create(ref value, pixels.Length);
            pixels.CopyTo(editor.Values);
            value = editor.Commit();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _input.Dispose();
            base.Dispose(disposing);
        }
    }
}
