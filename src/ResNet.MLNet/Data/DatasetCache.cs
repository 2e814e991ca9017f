using ResNet.MLNet.IO;

namespace ResNet.MLNet.Data;

/// <summary>
/// Where downloaded and generated datasets are kept. The folder is, in order of precedence: an explicit
/// folder passed to an API, the <c>RESNET_MLNET_DATA</c> environment variable, or
/// <c>resnet-mlnet/data</c> under the user's local data folder (<c>$XDG_DATA_HOME</c> or
/// <c>~/.local/share</c> on Linux, <c>%LOCALAPPDATA%</c> on Windows).
/// </summary>
internal static class DatasetCache
{
    /// <summary>The environment variable that overrides the default dataset cache folder.</summary>
    public const string EnvironmentVariable = "RESNET_MLNET_DATA";

    /// <summary>The cache folder used when no explicit folder is given (not created by this call).</summary>
    public static string DefaultDirectory => Resolve(null);

    /// <summary>
    /// Returns the absolute cache folder: <paramref name="directory"/> when given, otherwise the
    /// <c>RESNET_MLNET_DATA</c> environment variable, otherwise the per-user default.
    /// </summary>
    public static string Resolve(string? directory) =>
        Resolve(directory, Environment.GetEnvironmentVariable(EnvironmentVariable),
            Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify));

    internal static string Resolve(string? directory, string? environmentValue, string? localApplicationData, string? userProfile)
    {
        if (!string.IsNullOrWhiteSpace(directory))
            return Path.GetFullPath(directory);
        if (!string.IsNullOrWhiteSpace(environmentValue))
            return Path.GetFullPath(environmentValue);
        if (!string.IsNullOrWhiteSpace(localApplicationData))
            return Path.GetFullPath(Path.Combine(localApplicationData, "resnet-mlnet", "data"));
        if (!string.IsNullOrWhiteSpace(userProfile))
            return Path.GetFullPath(Path.Combine(userProfile, ".resnet-mlnet", "data"));
        throw new InvalidOperationException(
            $"Cannot find a folder for the dataset cache: no user data or home folder is known. Set the {EnvironmentVariable} environment variable or pass a cache folder.");
    }

    /// <summary>
    /// Makes a fresh, empty staging folder inside <paramref name="cacheDirectory"/> (same file system, so a final move is
    /// atomic), first removing staging folders and partial downloads that killed processes left there.
    /// </summary>
    internal static string CreateStagingDirectory(string cacheDirectory)
    {
        Directory.CreateDirectory(cacheDirectory);
        AtomicFile.DeleteStale(cacheDirectory);
        string path = Path.Combine(cacheDirectory, AtomicFile.TemporaryName("staging"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Moves a completed staging folder to <paramref name="target"/>. Returns false (and deletes the
    /// staging folder) when another process put the same folder in place first.
    /// </summary>
    internal static bool PublishDirectory(string staging, string target)
    {
        try
        {
            Directory.Move(staging, target);
            return true;
        }
        catch (IOException) when (Directory.Exists(target))
        {
            AtomicFile.DeleteQuietly(staging);
            return false;
        }
    }
}
