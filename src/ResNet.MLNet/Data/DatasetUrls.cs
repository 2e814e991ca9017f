namespace ResNet.MLNet.Data;

/// <summary>
/// Download locations of the datasets fastai's chapter 14 uses (fastai's <c>URLs</c>), with the sizes and
/// MD5 digests fastai publishes for them in its <c>checks.txt</c> (MD5 of the first MiB, plus the exact size).
/// </summary>
public static class DatasetUrls
{
    private const string FastAiImageClassification = "https://s3.amazonaws.com/fast-ai-imageclas/";

    /// <summary>Imagenette, full size (10 easy ImageNet classes; about 1.5 GB).</summary>
    public const string Imagenette = FastAiImageClassification + "imagenette2.tgz";

    /// <summary>Imagenette with the shortest side resized to 320 px (about 330 MB).</summary>
    public const string Imagenette320 = FastAiImageClassification + "imagenette2-320.tgz";

    /// <summary>Imagenette with the shortest side resized to 160 px (about 95 MB): the chapter's dataset.</summary>
    public const string Imagenette160 = FastAiImageClassification + "imagenette2-160.tgz";

    /// <summary>Imagewoof, full size (10 hard-to-tell dog breeds; about 1.3 GB).</summary>
    public const string Imagewoof = FastAiImageClassification + "imagewoof2.tgz";

    /// <summary>Imagewoof with the shortest side resized to 320 px.</summary>
    public const string Imagewoof320 = FastAiImageClassification + "imagewoof2-320.tgz";

    /// <summary>Imagewoof with the shortest side resized to 160 px.</summary>
    public const string Imagewoof160 = FastAiImageClassification + "imagewoof2-160.tgz";

    /// <summary>The folder holding Fashion-MNIST's four original gzipped IDX files.</summary>
    public const string FashionMnist = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/";

    private static readonly Dictionary<string, DownloadChecksum> Checks = new(StringComparer.Ordinal)
    {
        [Imagenette] = DownloadChecksum.FastAi(1557161267, "2c774ecb40005b35d7937d50f5d42336"),
        [Imagenette320] = DownloadChecksum.FastAi(341663724, "1f1f74f133caff120e575856659b87a2"),
        [Imagenette160] = DownloadChecksum.FastAi(99003388, "c475f8f7617a200ba35b9facc48443c3"),
        [Imagewoof] = DownloadChecksum.FastAi(1343715595, "2cc1c1e36e20cb6fd24ffb978edcb487"),
        [Imagewoof320] = DownloadChecksum.FastAi(328387740, "7a1fd92672a559a85de76e4810a20c21"),
        [Imagewoof160] = DownloadChecksum.FastAi(92612825, "3559b194123981a540b87132dbda412f"),
        // Fashion-MNIST publishes whole-file MD5s; sizes come from Content-Length.
        [FashionMnist + "train-images-idx3-ubyte.gz"] = new(Md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        [FashionMnist + "train-labels-idx1-ubyte.gz"] = new(Md5: "25c81989df183df01b3e8a0aad5dffbe"),
        [FashionMnist + "t10k-images-idx3-ubyte.gz"] = new(Md5: "bef4ecab320f06d8554ea6380940ec79"),
        [FashionMnist + "t10k-labels-idx1-ubyte.gz"] = new(Md5: "bb300cfdad3c16e7a12a480ee83cd310"),
    };

    /// <summary>Every named dataset: the six archives above and Fashion-MNIST.</summary>
    public static IReadOnlyList<KnownDataset> All { get; } =
    [
        new("imagenette2-160", Imagenette160, "Imagenette, 10 ImageNet classes, shortest side 160 px (fastbook ch. 14)", Checks[Imagenette160]),
        new("imagenette2-320", Imagenette320, "Imagenette, shortest side 320 px", Checks[Imagenette320]),
        new("imagenette2", Imagenette, "Imagenette, full size", Checks[Imagenette]),
        new("imagewoof2-160", Imagewoof160, "Imagewoof, 10 dog breeds, shortest side 160 px", Checks[Imagewoof160]),
        new("imagewoof2-320", Imagewoof320, "Imagewoof, shortest side 320 px", Checks[Imagewoof320]),
        new("imagewoof2", Imagewoof, "Imagewoof, full size", Checks[Imagewoof]),
        new(Data.FashionMnist.DatasetName, FashionMnist, "Fashion-MNIST, 10 clothing classes, 28x28 grayscale (Debian package or download)", null),
    ];

    /// <summary>The published checksum of <paramref name="url"/>, or null when the library has none.</summary>
    public static DownloadChecksum? FindChecksum(string url) => Checks.GetValueOrDefault(url);

    /// <summary>The known dataset called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static KnownDataset? Find(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));
}
