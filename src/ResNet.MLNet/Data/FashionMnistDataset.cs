namespace ResNet.MLNet.Data;

/// <summary>Fashion-MNIST: its name in the dataset table and cache.</summary>
internal static class FashionMnistDataset
{
    public const string DatasetName = "fashion-mnist";
}
