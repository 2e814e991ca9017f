using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Tests.Data;

public class ImageFolderTests
{
    private static void Touch(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
    }

    private static List<ImageFolderItem> Read(IDataView view) =>
        new MLContext(seed: 0).Data.CreateEnumerable<ImageFolderItem>(view, reuseRowObject: false).ToList();

    [Fact]
    public void ImagenetteLayoutGivesTheChaptersSplitCounts()
    {
        // Per-class image counts of imagenette2-160 (train, val).
        (string Wnid, int Train, int Valid)[] classes =
        [
            ("n01440764", 963, 387), ("n02102040", 955, 395), ("n02979186", 993, 357), ("n03000684", 858, 386),
            ("n03028079", 941, 409), ("n03394916", 956, 394), ("n03417042", 961, 389), ("n03425413", 931, 419),
            ("n03445777", 951, 399), ("n03888257", 960, 390),
        ];
        using var temp = new TempFolder();
        string root = temp.Combine("imagenette2-160");
        foreach (var (wnid, train, valid) in classes)
        {
            Directory.CreateDirectory(Path.Combine(root, "train", wnid));
            Directory.CreateDirectory(Path.Combine(root, "val", wnid));
            for (int i = 0; i < train; i++)
                File.WriteAllBytes(Path.Combine(root, "train", wnid, $"{wnid}_{i}.JPEG"), []);
            for (int i = 0; i < valid; i++)
                File.WriteAllBytes(Path.Combine(root, "val", wnid, $"ILSVRC2012_val_{wnid}_{i:D8}.JPEG"), []);
        }
        File.WriteAllText(Path.Combine(root, "noisy_imagenette.csv"), "path,noisy_labels_0\n");

        ImageFolder data = new MLContext(seed: 0).Data.LoadImageFolder(root, validName: "val");

        Assert.Equal(9469, data.TrainCount);
        Assert.Equal(3925, data.ValidCount);
        Assert.Equal(13394, data.All.GetRowCount());
        Assert.Equal(9469, data.Train.GetRowCount());
        Assert.Equal(3925, data.Valid.GetRowCount());
        Assert.Equal(classes.Select(c => c.Wnid), data.Classes);
        Assert.Equal(root, data.Root);
    }

    [Fact]
    public void AFifoNamedLikeAnImageIsRefusedUpFrontNamingIt()
    {
        using var temp = new TempFolder();
        string root = temp.Combine("ds");
        Touch(Path.Combine(root, "train", "a", "1.png"));
        Touch(Path.Combine(root, "val", "a", "2.png"));
        string fifo = Path.Combine(root, "train", "a", "pipe.jpg");
        Fifo.Create(fifo);

        var e = Assert.Throws<InvalidDataException>(() => new MLContext(seed: 0).Data.LoadImageFolder(root, validName: "val"));

        Assert.Contains($"'{fifo}' is a FIFO (named pipe), not a regular file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ColumnsHoldAbsolutePathParentLabelAndSplitInOrdinalOrder()
    {
        using var temp = new TempFolder();
        string root = temp.Combine("ds");
        Touch(Path.Combine(root, "train", "b", "2.png"));
        Touch(Path.Combine(root, "train", "b", "10.PNG"));
        Touch(Path.Combine(root, "train", "B", "x.jpeg"));
        Touch(Path.Combine(root, "train", "a", "deep", "nested", "z.webp"));
        Touch(Path.Combine(root, "train", "a", "y.Bmp"));
        Touch(Path.Combine(root, "train", "a", "notes.txt"));
        Touch(Path.Combine(root, "train", "a", ".hidden.jpg"));
        Touch(Path.Combine(root, "val", "b", "v.gif"));

        ImageFolder data = new MLContext().Data.LoadImageFolder(root);
        var rows = Read(data.All);

        Assert.Equal(["B", "a", "b", "nested"], data.Classes);
        Assert.Equal(
            ["train/B/x.jpeg", "train/a/deep/nested/z.webp", "train/a/y.Bmp", "train/b/10.PNG", "train/b/2.png", "val/b/v.gif"],
            rows.Select(r => Path.GetRelativePath(root, r.ImagePath).Replace('\\', '/')));
        Assert.All(rows, r => Assert.True(Path.IsPathFullyQualified(r.ImagePath) && File.Exists(r.ImagePath)));
        Assert.Equal(["B", "nested", "a", "b", "b", "b"], rows.Select(r => r.Label));
        Assert.Equal([false, false, false, false, false, true], rows.Select(r => r.IsValid));
        Assert.Equal(["val/b/v.gif"], Read(data.Valid).Select(r => Path.GetRelativePath(root, r.ImagePath).Replace('\\', '/')));
        Assert.Equal(5, Read(data.Train).Count);
    }

    [Fact]
    public void SchemaHasTextPathAndLabelAndBooleanIsValid()
    {
        using var temp = new TempFolder();
        string root = SyntheticImages.Create(temp.Combine("ds"), new SyntheticImagesOptions { ClassCount = 2, TrainImagesPerClass = 2, ValidImagesPerClass = 1, MinSize = 20, MaxSize = 24 });
        DataViewSchema schema = new MLContext().Data.LoadImageFolder(root).All.Schema;

        Assert.Equal(["ImagePath", "Label", "IsValid"], schema.Select(c => c.Name));
        Assert.Equal(TextDataViewType.Instance, schema["ImagePath"].Type);
        Assert.Equal(TextDataViewType.Instance, schema["Label"].Type);
        Assert.Equal(BooleanDataViewType.Instance, schema["IsValid"].Type);
    }

    [Fact]
    public void ShuffledCursorVisitsEveryRowOnceInAnotherOrder()
    {
        using var temp = new TempFolder();
        string root = temp.Combine("ds");
        for (int i = 0; i < 40; i++)
            Touch(Path.Combine(root, "train", $"c{i % 4}", $"{i:D2}.jpg"));
        IDataView view = new MLContext().Data.LoadImageFolder(root, validName: null).All;
        Assert.True(view.CanShuffle);

        List<string> Visit(Random? random)
        {
            var paths = new List<string>();
            using DataViewRowCursor cursor = view.GetRowCursor(view.Schema, random);
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["ImagePath"]);
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                paths.Add(value.ToString());
            }
            return paths;
        }

        List<string> ordered = Visit(null), shuffled = Visit(new Random(3));
        Assert.Equal(40, shuffled.Count);
        Assert.NotEqual(ordered, shuffled);
        Assert.Equal(ordered, shuffled.Order(StringComparer.Ordinal));
        Assert.Equal(shuffled, Visit(new Random(3)));
    }

    [Fact]
    public void WorksInAnMlNetPipelineWithStockImageLoading()
    {
        var ml = new MLContext(seed: 0);
        using var temp = new TempFolder();
        string root = SyntheticImages.Create(temp.Combine("ds"), new SyntheticImagesOptions { ClassCount = 3, TrainImagesPerClass = 3, ValidImagesPerClass = 1, MinSize = 20, MaxSize = 30 });
        ImageFolder data = ml.Data.LoadImageFolder(root);

        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"));
        IDataView transformed = pipeline.Fit(data.Train).Transform(data.Valid);
        float[][] pixels = transformed.GetColumn<float[]>("Pixels").ToArray();
        uint[] keys = transformed.GetColumn<uint>("Label").ToArray();

        Assert.Equal(3, pixels.Length);
        Assert.All(pixels, p => Assert.Equal(3 * 16 * 16, p.Length));
        Assert.Equal([1u, 2u, 3u], keys);
    }

    [Fact]
    public void RandomSplitSetsAsideEachClassesFractionDeterministically()
    {
        using var temp = new TempFolder();
        string root = temp.Combine("ds");
        for (int i = 0; i < 20; i++)
            Touch(Path.Combine(root, "cat", $"{i:D2}.jpg"));
        for (int i = 0; i < 10; i++)
            Touch(Path.Combine(root, "dog", $"{i:D2}.jpg"));
        Touch(Path.Combine(root, "emu", "only.jpg"));

        var ml = new MLContext();
        ImageFolder a = ml.Data.LoadImageFolder(root, validFraction: 0.2, seed: 1);
        ImageFolder b = ml.Data.LoadImageFolder(root, validFraction: 0.2, seed: 1);
        ImageFolder c = ml.Data.LoadImageFolder(root, validFraction: 0.2, seed: 2);

        Assert.Equal(["cat", "dog", "emu"], a.Classes);
        Assert.Equal(4, a.Items.Count(i => i.IsValid && i.Label == "cat"));
        Assert.Equal(2, a.Items.Count(i => i.IsValid && i.Label == "dog"));
        Assert.Equal(0, a.Items.Count(i => i.IsValid && i.Label == "emu"));
        Assert.Equal(25, a.TrainCount);
        Assert.Equal(a.Items.Select(i => i.IsValid), b.Items.Select(i => i.IsValid));
        Assert.NotEqual(a.Items.Select(i => i.IsValid), c.Items.Select(i => i.IsValid));
        Assert.Equal(a.Items.Select(i => i.ImagePath).Order(StringComparer.Ordinal), a.Items.Select(i => i.ImagePath));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Data.LoadImageFolder(root, validFraction: 1.0));
    }

    [Fact]
    public void MissingRootIsReported()
    {
        using var temp = new TempFolder();
        string missing = temp.Combine("nope");
        var error = Assert.Throws<DirectoryNotFoundException>(() => new MLContext().Data.LoadImageFolder(missing));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingValidationFolderIsReportedWithWhatWasFound()
    {
        using var temp = new TempFolder();
        Touch(temp.Combine("train", "a", "1.jpg"));
        Touch(temp.Combine("valid", "a", "2.jpg"));
        var error = Assert.Throws<DirectoryNotFoundException>(() => new MLContext().Data.LoadImageFolder(temp.Path, validName: "val"));
        Assert.Contains("'val'", error.Message, StringComparison.Ordinal);
        Assert.Contains("train, valid", error.Message, StringComparison.Ordinal);

        Assert.Equal(1, new MLContext().Data.LoadImageFolder(temp.Path, validName: "valid").ValidCount);
    }

    [Fact]
    public void MissingTrainFolderIsReported()
    {
        using var temp = new TempFolder();
        Touch(temp.Combine("a", "1.jpg"));
        var error = Assert.Throws<DirectoryNotFoundException>(() => new MLContext().Data.LoadImageFolder(temp.Path));
        Assert.Contains("'train'", error.Message, StringComparison.Ordinal);
        Assert.Contains("validFraction", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FolderWithoutImagesIsReported()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("train"));
        Directory.CreateDirectory(temp.Combine("val"));
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Data.LoadImageFolder(temp.Path));
        Assert.Contains("No images", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => new MLContext().Data.LoadImageFolder(temp.Path, validFraction: 0.2));
    }

    [Fact]
    public void EmptyClassFolderIsReportedByName()
    {
        using var temp = new TempFolder();
        Touch(temp.Combine("train", "a", "1.jpg"));
        Touch(temp.Combine("train", "b", "readme.txt"));
        Touch(temp.Combine("val", "a", "2.jpg"));
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Data.LoadImageFolder(temp.Path));
        Assert.Contains(temp.Combine("train", "b"), error.Message, StringComparison.Ordinal);
        Assert.Contains("no images", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidationLabelUnseenInTrainingIsReported()
    {
        using var temp = new TempFolder();
        Touch(temp.Combine("train", "a", "1.jpg"));
        Touch(temp.Combine("val", "a", "2.jpg"));
        Touch(temp.Combine("val", "zebra", "3.jpg"));
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Data.LoadImageFolder(temp.Path));
        Assert.Contains("'zebra'", error.Message, StringComparison.Ordinal);
        Assert.Contains("no training images", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageOutsideAClassFolderIsReported()
    {
        using var temp = new TempFolder();
        Touch(temp.Combine("train", "a", "1.jpg"));
        Touch(temp.Combine("train", "stray.jpg"));
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Data.LoadImageFolder(temp.Path, validName: null));
        Assert.Contains("stray.jpg", error.Message, StringComparison.Ordinal);
    }
}
