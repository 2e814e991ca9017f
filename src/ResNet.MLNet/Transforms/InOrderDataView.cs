using Microsoft.ML;
using Microsoft.ML.Data;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// Reads its source in order on every pass. It reports <see cref="CanShuffle"/> so the views above it still receive
/// a training pass's <see cref="Random"/> (ML.NET's transforms drop it over a view that cannot shuffle), but never
/// hands that Random to its source: augmented passes (test-time augmentation) keep the rows in data order.
/// </summary>
internal sealed class InOrderDataView(IDataView source) : IDataView
{
    public bool CanShuffle => true;

    public DataViewSchema Schema => source.Schema;

    public long? GetRowCount() => source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        source.GetRowCursor(columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];
}
