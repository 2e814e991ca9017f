using System.CommandLine;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Cli;

/// <summary>The <c>resnet-mlnet</c> command line: builds the command tree and runs it.</summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/> and runs the chosen command; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        NativeMemoryTuning.Apply();
        OpenMpWaitTuning.Apply();
        NnpackSwitch.Disable();
        var root = new RootCommand("ResNet.MLNet: fastai's chapter 14 ResNets as ML.NET pipelines.");
        root.Subcommands.Add(Commands.TrainCommand.Create());
        root.Subcommands.Add(Commands.LrFindCommand.Create());
        root.Subcommands.Add(Commands.EvaluateCommand.Create());
        root.Subcommands.Add(Commands.PredictCommand.Create());
        root.Subcommands.Add(Commands.DatasetsCommand.Create());
        root.Subcommands.Add(Commands.ShowBatchCommand.Create());
        root.Subcommands.Add(Commands.ExportCommand.Create());
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
        };
        return root.Parse(args).InvokeAsync(configuration);
    }
}
