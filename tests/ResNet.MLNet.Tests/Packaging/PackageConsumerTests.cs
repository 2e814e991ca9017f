using System.Diagnostics;
using Xunit.Abstractions;

namespace ResNet.MLNet.Tests.Packaging;

/// <summary>
/// The packed library from outside the repository: a console app that references the package and
/// <c>libtorch-cpu-linux-x64</c> (not TorchSharp-cpu) restores, builds (with the package's libstdc++ fix) and trains.
/// </summary>
public class PackageConsumerTests(ITestOutputHelper output)
{
    private const string LibTorchPackage = "libtorch-cpu-linux-x64";
    private const string LibTorchVersion = "2.10.0";

    [Fact]
    public void AnAppReferencingThePackageAndLibTorchCpuRestoresBuildsAndTrains()
    {
        if (!OperatingSystem.IsLinux()) return;   // the libtorch package named here is the Linux x64 one
        string work = Directory.CreateTempSubdirectory("resnet-mlnet-consumer-").FullName;
        // A version of its own, so the NuGet cache never serves an older pack of this library.
        string version = $"0.0.0-consumer.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        string cached = Path.Combine(NuGetPackagesFolder(), "resnet.mlnet", version);
        try
        {
            string feed = Path.Combine(work, "feed"), app = Path.Combine(work, "app");
            Run("dotnet", work, "pack", RepositoryFiles.PathOf("src/ResNet.MLNet/ResNet.MLNet.csproj"), "-c", RepositoryFiles.Configuration,
                "--no-build", "-o", feed, $"-p:Version={version}");
            Directory.CreateDirectory(app);
            File.Copy(RepositoryFiles.PathOf("tests/PackageConsumer/Program.cs"), Path.Combine(app, "Program.cs"));
            File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="ResNet.MLNet" Version="{version}" />
                    <PackageReference Include="{LibTorchPackage}" Version="{LibTorchVersion}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <configuration>
                  <packageSources>
                    <add key="resnet-mlnet-pack" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            string build = Run("dotnet", app, "build", "-c", "Release", "-o", Path.Combine(app, "out"));
            string assets = File.ReadAllText(Path.Combine(app, "obj", "project.assets.json"));
            Assert.DoesNotContain("TorchSharp-cpu", assets, StringComparison.OrdinalIgnoreCase);
            Assert.Contains($"\"{LibTorchPackage}/{LibTorchVersion}\"", assets, StringComparison.OrdinalIgnoreCase);
            if (!SystemLibStdCxxHas("GLIBCXX_3.4.32"))
                Assert.Contains("marked that version requirement", build);

            string run = Run("dotnet", app, Path.Combine(app, "out", "Consumer.dll"), Path.Combine(work, "run"));
            Assert.Matches(@"predicted \w+ for ", run);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }

    private string Run(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        output.WriteLine($"$ {file} {string.Join(' ', args)}\n{stdout}{stderr.Result}");
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }

    private static string NuGetPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static bool SystemLibStdCxxHas(string version)
    {
        string[] candidates = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6"];
        return candidates.Where(File.Exists).Any(path => System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(path)).Contains(version, StringComparison.Ordinal));
    }
}
