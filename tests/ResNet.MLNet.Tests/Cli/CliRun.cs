using ResNet.MLNet.Cli;

namespace ResNet.MLNet.Tests.Cli;

/// <summary>Runs the <c>resnet-mlnet</c> command line in-process and captures what it prints.</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
