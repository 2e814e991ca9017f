using System.CommandLine;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// Runs a command's action with the CLI's error contract: exit code 0 on success, 1 with a one-line
/// <c>error: …</c> message on standard error when the work fails (bad input, bad data, diverged training), 130 when
/// cancelled. Set <c>RESNET_MLNET_DEBUG=1</c> to also print the stack trace.
/// </summary>
internal static class CommandRunner
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Cancelled = 130;

    public static int Run(ParseResult parseResult, Action<TextWriter> action) =>
        RunAsync(parseResult, output => { action(output); return Task.CompletedTask; }).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(ParseResult parseResult, Func<TextWriter, Task> action)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        try
        {
            await action(parseResult.InvocationConfiguration.Output).ConfigureAwait(false);
            return Success;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("Cancelled.");
            return Cancelled;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: {Describe(e)}");
            if (Environment.GetEnvironmentVariable("RESNET_MLNET_DEBUG") == "1") error.WriteLine(e);
            return Failure;
        }
    }

    private static string Describe(Exception e)
    {
        // ML.NET and TorchSharp often wrap the useful message; show the chain without duplicates.
        var messages = new List<string>();
        for (Exception? current = e; current is not null; current = current.InnerException)
            if (!messages.Any(m => m.Contains(current.Message, StringComparison.Ordinal)))
                messages.Add(current.Message);
        return string.Join(" ← ", messages);
    }
}
