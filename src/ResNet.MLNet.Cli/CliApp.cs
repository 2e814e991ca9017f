using System.CommandLine;
using ResNet.MLNet.Cli.Commands;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Cli;

/// <summary>The <c>resnet-mlnet</c> command line: builds the command tree and runs it.</summary>
public static class CliApp
{
    /// <summary>What every command shares: the <c>--model</c> it reads, the <c>--data</c> it uses and the <c>--out</c> it writes.</summary>
    public const string Vocabulary =
        "Every command names its input model with -m/--model, its images with --data (synthetic, a dataset name or a folder) " +
        "and where it writes with -o/--out: a folder for the commands that write several files (train, evaluate, datasets " +
        "synthetic), the file itself for those that write one (lr-find, show-batch and show-results: a .png; export: a .onnx, " +
        ".pth, .pt or .safetensors).";

    /// <summary>The command tree of <c>resnet-mlnet</c>.</summary>
    internal static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("ResNet.MLNet: fastai's chapter 14 ResNets as ML.NET pipelines. " + Vocabulary);
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(LrFindCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(ShowResultsCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(DatasetsCommand.Create());
        root.Subcommands.Add(ShowBatchCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the chosen command; returns the process exit code.</summary>
    /// <remarks>
    /// 0 success; 1 failure, with one <c>error: …</c> line on standard error (parse errors included); 130 or 143 when
    /// SIGINT or SIGTERM cancelled the run (it stops cleanly and prints <c>Cancelled.</c>).
    /// </remarks>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        // serve keeps glibc's defaults: its memory is decoded images, which should go back to the system after each request.
        if (args.FirstOrDefault() != "serve") NativeMemoryTuning.Apply();
        OpenMpWaitTuning.Apply();
        NnpackSwitch.Disable();
        var root = CreateRootCommand();
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            // Signals are ours (TerminationSignals): the run gets the time it needs to stop between batches.
            ProcessTerminationTimeout = null,
        };
        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0 && parseResult.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            string command = parseResult.CommandResult.Command == root ? "resnet-mlnet" : $"resnet-mlnet {parseResult.CommandResult.Command.Name}";
            configuration.Error.WriteLine(CommandRunner.ErrorLine(
                $"{string.Join("; ", parseResult.Errors.Select(e => e.Message.TrimEnd('.')))} (see `{command} --help`)."));
            return CommandRunner.Failure;
        }
        using var signals = new TerminationSignals();
        int code = await parseResult.InvokeAsync(configuration, signals.Token).ConfigureAwait(false);
        return code == CommandRunner.Cancelled ? signals.CancelledExitCode : code;
    }
}
