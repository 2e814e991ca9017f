using System.CommandLine;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using ResNet.MLNet.Onnx;

namespace ResNet.MLNet.Cli.Commands;

/// <summary><c>resnet-mlnet export</c>: writes the network stored in a model.zip as a standalone ONNX file.</summary>
public static class ExportCommand
{
    /// <summary>Builds the <c>export</c> command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A model.zip saved from a pipeline with the ResNet trainer." };
        var output = new Option<string?>("--output", "-o") { Description = "The .onnx file to write (default: the model's path with extension .onnx)." };
        var command = new Command("export",
            $"Export the network of a model.zip to a standalone ONNX file (opset {OnnxGraphBuilder.DefaultOpset}): input [1,3,H,W] " +
            "normalised image tensor, outputs Score (probabilities) and PredictedLabel.Index.");
        command.Arguments.Add(model);
        command.Options.Add(output);
        command.SetAction(parseResult => CommandRunner.Run(parseResult, writer =>
        {
            string source = parseResult.GetValue(model)!;
            string target = parseResult.GetValue(output) ?? Path.ChangeExtension(source, ".onnx");
            byte[] onnx = ModelZip.ExtractScoringNetwork(source);
            string full = Path.GetFullPath(target);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full + ".tmp", onnx);
            File.Move(full + ".tmp", full, overwrite: true);
            using var session = new InferenceSession(onnx);
            foreach (var (name, meta) in session.InputMetadata)
                writer.WriteLine($"input  {name} [{string.Join(",", meta.Dimensions)}] {meta.ElementDataType}");
            foreach (var (name, meta) in session.OutputMetadata)
                writer.WriteLine($"output {name} [{string.Join(",", meta.Dimensions)}] {meta.ElementDataType}");
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {full} ({onnx.Length / 1048576.0:0.0} MB)"));
        }));
        return command;
    }
}
