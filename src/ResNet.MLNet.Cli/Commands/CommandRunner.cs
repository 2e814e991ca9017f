using System.CommandLine;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// Runs a command's action with the CLI's error contract: exit code 0 on success, 1 with a one-line
/// <c>error: …</c> message on standard error when the work fails (bad input, bad data, diverged training), 130
/// (SIGINT) or 143 (SIGTERM) with <c>Cancelled.</c> when a signal stopped it. Set <c>RESNET_MLNET_DEBUG=1</c> to also
/// print the stack trace.
/// </summary>
internal static class CommandRunner
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Cancelled = 130;

    public static Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken, Action<TextWriter> action) =>
        RunAsync(parseResult, cancellationToken, output => { action(output); return Task.CompletedTask; });

    public static async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken, Func<TextWriter, Task> action)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        try
        {
            await action(parseResult.InvocationConfiguration.Output).ConfigureAwait(false);
            return Success;
        }
        catch (Exception e) when (e is OperationCanceledException || cancellationToken.IsCancellationRequested)
        {
            // Whatever a cancelled run threw on its way out (ML.NET may wrap it), the cause is the signal.
            error.WriteLine("Cancelled.");
            return Cancelled;
        }
        catch (Exception e)
        {
            error.WriteLine(ErrorLine(Describe(e)));
            if (Environment.GetEnvironmentVariable("RESNET_MLNET_DEBUG") == "1") error.WriteLine(e);
            return Failure;
        }
    }

    /// <summary>The one line a failure prints: <c>error: </c> and the message with its line breaks folded.</summary>
    public static string ErrorLine(string message) =>
        "error: " + string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string Describe(Exception e)
    {
        // ML.NET and TorchSharp often wrap the useful message; show the chain without duplicates.
        var messages = new List<string>();
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            string message = OwnMessage(current);
            if (!messages.Any(m => m.Contains(message, StringComparison.Ordinal)))
                messages.Add(message);
        }
        return string.Join(" ← ", messages);
    }

    /// <summary>An exception's message without the "(Parameter 'x')" and "Actual value was …" lines .NET appends.</summary>
    private static string OwnMessage(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentOutOfRangeException { ActualValue: not null })
        {
            int at = message.LastIndexOf(Environment.NewLine, StringComparison.Ordinal);
            if (at >= 0) message = message[..at];
        }
        if (e is ArgumentException { ParamName: string name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message;
    }
}
