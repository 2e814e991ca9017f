namespace ResNet.MLNet.Data;

/// <summary>A dataset the library knows by name.</summary>
/// <param name="Name">Short name, also the cache folder name (<c>imagenette2-160</c>).</param>
/// <param name="Url">Where it is downloaded from (for Fashion-MNIST: the folder of its four files).</param>
/// <param name="Description">One line for listings.</param>
/// <param name="Checksum">The published size and MD5, when known.</param>
internal sealed record KnownDataset(string Name, string Url, string Description, DownloadChecksum? Checksum);
