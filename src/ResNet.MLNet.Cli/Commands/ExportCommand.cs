using System.CommandLine;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using ResNet.MLNet.IO;
using ResNet.MLNet.Onnx;
using ResNet.MLNet.Persistence;

namespace ResNet.MLNet.Cli.Commands;

/// <summary><c>resnet-mlnet export</c>: writes the network of a model.zip or a training checkpoint as a standalone ONNX file.</summary>
public static class ExportCommand
{
    /// <summary>Builds the <c>export</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "A model.zip saved from a pipeline with the ResNet trainer, or a checkpoint directory / checkpoint.resnet-mlnet file.",
            Required = true,
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "The .onnx file to write (default: next to the model, extension .onnx); a .pth/.pt or .safetensors name writes the " +
                "TorchSharp weights for PyTorch instead (a model.zip written by train, or a checkpoint).",
        };
        var softmax = new Option<bool>("--softmax") { Description = "Checkpoints only: append a Softmax so the output holds probabilities instead of logits." };
        var command = new Command("export",
            $"Export a trained network to a standalone ONNX file (opset {OnnxGraphBuilder.DefaultOpset}). From a model.zip: input " +
            "[1,3,H,W] normalised image tensor, outputs Score (probabilities) and PredictedLabel.Index. From a checkpoint: input " +
            "[N,3,H,W] (any batch and size), output [N,classes] logits (or probabilities with --softmax).");
        command.Options.Add(model);
        command.Options.Add(output);
        command.Options.Add(softmax);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, writer =>
        {
            string source = parseResult.GetValue(model)!;
            bool isCheckpoint = Directory.Exists(source) || source.EndsWith(".resnet-mlnet", StringComparison.OrdinalIgnoreCase);
            string target = parseResult.GetValue(output) is string o ? OptionChecks.OutputFile("export", o, "model.onnx", ".onnx", ".pth", ".pt", ".safetensors")
                : Path.GetFullPath(Directory.Exists(source) ? Path.Combine(source, "model.onnx") : Path.ChangeExtension(source, ".onnx"));
            if (Path.GetExtension(target).ToLowerInvariant() is ".pth" or ".pt" or ".safetensors")
            {
                var weights = Persistence.NetworkWeights.Load(source);
                weights.SavePyTorch(target);
                writer.WriteLine($"wrote {target}: {weights.Architecture} weights, {weights.ClassCount} classes, for torch.load / safetensors");
                return;
            }
            if (isCheckpoint)
            {
                var (architecture, classes, shape) = OnnxExporter.SaveCheckpoint(source, target,
                    new OnnxExportOptions { AddSoftmax = parseResult.GetValue(softmax) });
                writer.WriteLine($"checkpoint: {architecture}, {classes} classes, trained on [{string.Join(",", shape)}] images");
            }
            else
            {
                if (parseResult.GetValue(softmax))
                    throw new ArgumentException("--softmax applies to checkpoints; a model.zip's network already outputs probabilities (Score).");
                byte[] onnx = ModelZip.ExtractScoringNetwork(source);
                AtomicFile.WriteAllBytes(target, onnx, cancellationToken);
            }
            using var session = new InferenceSession(target);
            foreach (var (name, meta) in session.InputMetadata)
                writer.WriteLine($"input  {name} [{string.Join(",", meta.Dimensions)}] {meta.ElementDataType}");
            foreach (var (name, meta) in session.OutputMetadata)
                writer.WriteLine($"output {name} [{string.Join(",", meta.Dimensions)}] {meta.ElementDataType}");
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {target} ({new FileInfo(target).Length / 1048576.0:0.0} MB)"));
        }));
        return command;
    }
}
