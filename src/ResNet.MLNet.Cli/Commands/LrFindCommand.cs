using System.CommandLine;
using ResNet.MLNet.Training;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet.Cli.Commands;

/// <summary><c>resnet-mlnet lr-find</c>: fastai's learning-rate range test; prints the suggestions and writes the plot.</summary>
public static class LrFindCommand
{
    /// <summary>Builds the <c>lr-find</c> command.</summary>
    public static Command Create()
    {
        var setup = new TrainingSetup();
        var output = new Option<string>("--out", "-o") { Description = "The plot's PNG file.", DefaultValueFactory = _ => "lr_find.png" };
        var suggestion = new Option<LearningRateSuggestion>("--suggestion") { Description = "Which suggestion to mark: Valley (default), Minimum or Steep.", DefaultValueFactory = _ => LearningRateSuggestion.Valley };
        var command = new Command("lr-find", "Run the learning-rate range test (1e-7 → 10 over 100 batches) and plot loss against learning rate.");
        setup.AddTo(command);
        command.Options.Add(output);
        command.Options.Add(suggestion);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            var settings = setup.Check(parseResult);
            string path = OptionChecks.OutputFile("lr-find", parseResult.GetValue(output)!, "lr_find.png", ".png");
            using var folder = OutputFolder.Prepare(Path.GetDirectoryName(path)!, "--out's folder");
            var run = await setup.ResolveAsync(settings, writer, cancellationToken).ConfigureAwait(false);
            var result = new LearningRateFinder(run.Trainer).Find(run.Preprocessing, run.Data.All);
            cancellationToken.ThrowIfCancellationRequested();
            folder.Keep();
            LearningRatePlot.SavePng(result, path, parseResult.GetValue(suggestion));
            writer.WriteLine($"valley {result.Valley:0.###e+0}   minimum {result.Minimum:0.###e+0}   steep {result.Steep:0.###e+0}");
            writer.WriteLine($"suggestion ({parseResult.GetValue(suggestion).ToString().ToLowerInvariant()}): {result.Suggestion(parseResult.GetValue(suggestion)):0.###e+0}");
            writer.WriteLine($"plot: {path}");
        }));
        return command;
    }
}
