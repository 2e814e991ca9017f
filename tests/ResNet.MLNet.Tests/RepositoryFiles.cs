namespace ResNet.MLNet.Tests;

/// <summary>Paths in the repository the tests were built from (the folder holding ResNet.MLNet.sln).</summary>
internal static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration of this test run (Release or Debug), from the output folder's name.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative)).Replace("\r\n", "\n");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResNet.MLNet.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No ResNet.MLNet.sln above {AppContext.BaseDirectory}.");
    }
}
