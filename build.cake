// ResNet.MLNet build script: ./build.sh --target=<Clean|Build|Test|Demo|Bench|Pack>
var target = Argument("target", "Build");
var configuration = Argument("configuration", "Release");
var filter = Argument("filter", "");          // Test: dotnet test --filter; Bench: benchmark filter
var demoArgs = Argument("demo-args", "");     // extra arguments for the Demo target
var solution = "./ResNet.MLNet.sln";

Task("Clean").Does(() =>
{
    CleanDirectories("./src/**/bin/" + configuration);
    CleanDirectories("./src/**/obj");
    CleanDirectories("./tests/**/bin/" + configuration);
    CleanDirectories("./tests/**/obj");
    CleanDirectories("./examples/**/bin/" + configuration);
    CleanDirectories("./examples/**/obj");
    CleanDirectory("./artifacts");
});

Task("Build").Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

Task("Test").IsDependentOn("Build").Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = string.IsNullOrEmpty(filter) ? null : filter,
        Loggers = { "console;verbosity=normal" },
    });
});

Task("Demo").IsDependentOn("Build").Does(() =>
{
    DotNetRun("./examples/Chapter14/Chapter14.csproj", new ProcessArgumentBuilder().Append(demoArgs),
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
});

Task("Bench").IsDependentOn("Build").Does(() =>
{
    var args = new ProcessArgumentBuilder();
    if (!string.IsNullOrEmpty(filter)) args.Append("--filter").AppendQuoted(filter);
    DotNetRun("./tests/ResNet.MLNet.Benchmarks/ResNet.MLNet.Benchmarks.csproj", args,
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
});

Task("Pack").IsDependentOn("Build").Does(() =>
{
    DotNetPack(solution, new DotNetPackSettings { Configuration = configuration, NoBuild = true, OutputDirectory = "./artifacts" });
});

RunTarget(target);
