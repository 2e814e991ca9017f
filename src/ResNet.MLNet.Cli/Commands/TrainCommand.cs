using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using ResNet.MLNet.IO;
using ResNet.MLNet.Interpretation;
using ResNet.MLNet.Persistence;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Visualization;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>
/// <c>resnet-mlnet train</c>: fit_one_cycle on an image folder, then evaluate on the validation split. Writes
/// <c>model.zip</c>, <c>history.csv</c>, <c>history.json</c>, <c>loss.png</c>, <c>metrics.json</c> and
/// <c>confusion.png</c> into the output folder.
/// </summary>
public static class TrainCommand
{
    /// <summary>Builds the <c>train</c> command.</summary>
    public static Command Create()
    {
        var setup = new TrainingSetup();
        var epochs = new Option<int>("--epochs") { Description = "Number of epochs (fit_one_cycle).", DefaultValueFactory = _ => ResNetTrainer.Defaults.Epochs };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (default runs/<arch>-<time>)." };
        var checkpoints = new Option<bool>("--checkpoints") { Description = "Write a checkpoint after every epoch into <out>/checkpoints (resumable)." };
        var resume = new Option<bool>("--resume") { Description = "Resume from the checkpoint in <out>/checkpoints." };
        var saveBest = new Option<bool>("--save-best") { Description = "Keep the weights of the epoch with the best --monitor value (fastai SaveModelCallback)." };
        var earlyStop = new Option<int?>("--early-stop") { Description = "Stop after this many epochs without improvement of --monitor (fastai EarlyStoppingCallback)." };
        var monitor = new Option<string>("--monitor") { Description = "What --save-best and --early-stop follow: valid_loss, accuracy or error_rate.", DefaultValueFactory = _ => "valid_loss" };
        var labelSmoothing = new Option<float>("--label-smoothing") { Description = "Label-smoothing cross-entropy ε (fastai uses 0.1); 0: plain cross-entropy." };
        var mixUp = new Option<float>("--mixup") { Description = "MixUp α (fastai uses 0.4); 0: off." };
        var cutMix = new Option<float>("--cutmix") { Description = "CutMix α (fastai uses 1); 0: off." };
        var init = new Option<string?>("--init") { Description = "Continue from trained weights: a model.zip written by train, a checkpoint, or a train output folder (--size/--presize may differ)." };
        var fineTune = new Option<bool>("--fine-tune") { Description = "fastai fine_tune: --freeze-epochs with the body frozen, then --epochs of everything with discriminative learning rates (torchvision-resnet*)." };
        var freezeEpochs = new Option<int>("--freeze-epochs") { Description = "fine_tune's epochs with the body frozen.", DefaultValueFactory = _ => 1 };
        var lrMult = new Option<float>("--lr-mult") { Description = "fine_tune's ratio of the head's to the first layers' learning rate.", DefaultValueFactory = _ => 100 };
        var accumulate = new Option<int>("--accumulate") { Description = "Sum the gradients of this many batches per optimiser step (effective batch = --bs × this).", DefaultValueFactory = _ => 1 };
        var flipTta = new Option<bool>("--flip-tta") { Description = "Score (and save model.zip) as the mean of each image and its mirror: flip TTA inside the ONNX network." };
        var command = new Command("train", "Train a chapter model on an image folder and save model.zip with its history and metrics.");
        setup.AddTo(command);
        command.Options.Add(epochs);
        command.Options.Add(output);
        command.Options.Add(checkpoints);
        command.Options.Add(resume);
        foreach (Option recipe in new Option[] { saveBest, earlyStop, monitor, labelSmoothing, mixUp, cutMix, accumulate, init, fineTune, freezeEpochs, lrMult })
            command.Options.Add(recipe);
        command.Options.Add(flipTta);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, cancellationToken, async writer =>
        {
            // Everything that can be checked without data is checked first: options, the output folder and its lock.
            var settings = setup.Check(parseResult);
            int epochCount = parseResult.GetValue(epochs);
            OptionChecks.AtLeast("--epochs", epochCount, 1);
            CheckRecipe(parseResult.GetValue(labelSmoothing), parseResult.GetValue(mixUp), parseResult.GetValue(cutMix), parseResult.GetValue(accumulate),
                parseResult.GetValue(earlyStop), parseResult.GetValue(monitor)!, parseResult.GetValue(freezeEpochs), parseResult.GetValue(lrMult));
            bool resuming = parseResult.GetValue(resume);
            string? outArgument = parseResult.GetValue(output);
            if (resuming && outArgument is null)
                throw new ArgumentException("--resume needs --out: the folder of the run to resume (its checkpoints/ folder).");
            string folderPath = Path.GetFullPath(outArgument ?? Path.Combine("runs", $"{settings.Architecture.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"));
            string checkpointFolder = Path.Combine(folderPath, "checkpoints");
            if (resuming && !File.Exists(TrainingCheckpoint.PathIn(checkpointFolder)))
                throw new FileNotFoundException($"--resume: there is no checkpoint at {TrainingCheckpoint.PathIn(checkpointFolder)}; " +
                    "train with --checkpoints into this --out first, or check the --out path.");
            using var folder = OutputFolder.Prepare(folderPath, "--out");
            using var outputLock = OutputLock.Acquire(folder.Path, "--out", writer);
            var initial = parseResult.GetValue(init) is string from ? NetworkWeights.Load(from) : null;
            if (initial is not null && initial.Architecture != settings.Architecture.Name)
                throw new ArgumentException($"--init {parseResult.GetValue(init)} holds a {initial.Architecture} network, but --arch is {settings.Architecture.Name}; " +
                    "continue with the same --arch.");
            if (initial is not null && settings.Pretrained is not null)
                throw new ArgumentException("--init continues a trained network and --pretrained starts one from pretrained weights: give one of them.");

            var resolved = await setup.ResolveAsync(settings, writer, cancellationToken).ConfigureAwait(false);
            resolved.Trainer.Epochs = epochCount;
            if (parseResult.GetValue(checkpoints) || resuming)
                resolved.Trainer.CheckpointDirectory = checkpointFolder;
            resolved.Trainer.Resume = resuming;
            var trainer = resolved.Trainer;
            string monitored = parseResult.GetValue(monitor)!;
            if (monitored == "error_rate") trainer.Metrics.Add(new ErrorRate());
            trainer.LabelSmoothing = parseResult.GetValue(labelSmoothing);
            foreach (var callback in Recipes(parseResult.GetValue(saveBest), parseResult.GetValue(earlyStop), monitored,
                parseResult.GetValue(mixUp), parseResult.GetValue(cutMix), parseResult.GetValue(accumulate)))
                trainer.Callbacks.Add(callback);
            if (initial is not null) trainer.InitialWeights = StartingWeights.Trained(initial);
            if (parseResult.GetValue(fineTune))
                trainer.Schedule = TrainingSchedule.FineTune(parseResult.GetValue(freezeEpochs), parseResult.GetValue(lrMult));
            Train(resolved, folder, parseResult.GetValue(flipTta), writer, cancellationToken);
        }));
        return command;
    }

    /// <summary>The training-recipe flags, checked (with their names) before any data is loaded.</summary>
    private static void CheckRecipe(float labelSmoothing, float mixUp, float cutMix, int accumulate, int? earlyStop, string monitor, int freezeEpochs, float lrMult)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new ArgumentException($"--label-smoothing must lie in [0, 1), got {labelSmoothing}.");
        if (!(mixUp >= 0) || float.IsInfinity(mixUp)) throw new ArgumentException($"--mixup must be 0 (off) or a positive α, got {mixUp}.");
        if (!(cutMix >= 0) || float.IsInfinity(cutMix)) throw new ArgumentException($"--cutmix must be 0 (off) or a positive α, got {cutMix}.");
        OptionChecks.AtLeast("--accumulate", accumulate, 1);
        if (earlyStop is int patience) OptionChecks.AtLeast("--early-stop", patience, 1);
        if (monitor is not ("valid_loss" or "accuracy" or "error_rate"))
            throw new ArgumentException($"--monitor must be valid_loss, accuracy or error_rate, got '{monitor}'.");
        OptionChecks.AtLeast("--freeze-epochs", freezeEpochs, 0);
        if (!(lrMult >= 1) || float.IsInfinity(lrMult)) throw new ArgumentException($"--lr-mult must be at least 1, got {lrMult}.");
    }

    /// <summary>The callbacks the recipe flags ask for (a zero α or one batch per step: none).</summary>
    private static IEnumerable<LearnerCallback> Recipes(bool saveBest, int? earlyStop, string monitor, float mixUp, float cutMix, int accumulate)
    {
        if (saveBest) yield return new SaveBestModel(monitor);
        if (earlyStop is int patience) yield return new EarlyStopping(monitor, patience: patience);
        if (mixUp > 0) yield return new MixUp(mixUp);
        if (cutMix > 0) yield return new CutMix(cutMix);
        if (accumulate > 1) yield return new GradientAccumulation(accumulate);
    }

    private static void Train(TrainingSetup.Resolved run, OutputFolder output, bool flipTta, TextWriter writer, CancellationToken cancellationToken)
    {
        var ml = run.ML;
        string folder = output.Path;
        writer.WriteLine($"train: {run.Trainer.Architecture.Name}, Resize({run.Presize}) → {run.Size} px, bs {run.Trainer.BatchSize}, " +
            (run.Trainer.Schedule.IsFineTune ? $"fine_tune({run.Trainer.Epochs}, {run.Trainer.MaxLearningRate.ToString("G3", CultureInfo.InvariantCulture)}, freeze_epochs={run.Trainer.Schedule.FreezeEpochs})"
                : $"fit_one_cycle({run.Trainer.Epochs}, {run.Trainer.MaxLearningRate.ToString("G3", CultureInfo.InvariantCulture)})"));
        var pipeline = run.Preprocessing
            .Append(ml.MulticlassClassification.Trainers.ResNet(run.Trainer))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = InCliTerms(() => pipeline.Fit(run.Data.All));
        var fitTime = clock.Elapsed;
        try
        {
            var network = model.OfType<ResNetTransformer>().Single();
            network.FlipTta = flipTta;
            clock.Restart();
            var scored = model.Transform(run.Data.Valid);
            var report = new ClassificationReport(ml.MulticlassClassification.Evaluate(scored), network.ClassNames);
            var evaluationTime = clock.Elapsed;
            clock.Restart();

            // model.zip first, and until it is in place a signal leaves every earlier output as it was; the rest belongs
            // to the committed model and is written even if a signal arrives meanwhile.
            string modelPath = Path.Combine(folder, "model.zip");
            var weights = NetworkWeights.Of(network);   // an extra entry that lets --init continue from this model.zip
            AtomicFile.Write(modelPath, stream =>
            {
                ml.Model.Save(model, run.Data.All.Schema, stream);
                weights.AddTo(stream);
            }, cancellationToken);
            output.Keep();
            WriteHistory(network.History, folder);
            report.SaveJson(Path.Combine(folder, "metrics.json"));
            report.SaveConfusionMatrixPng(Path.Combine(folder, "confusion.png"));
            var savingTime = clock.Elapsed;
            writer.WriteLine();
            report.WriteText(writer, mostConfused: 5);
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"time: fit {fitTime.TotalSeconds:F1} s (decoding, step trial, epochs), evaluation {evaluationTime.TotalSeconds:F1} s, saving {savingTime.TotalSeconds:F1} s"));
            writer.WriteLine($"saved: {modelPath} ({new FileInfo(modelPath).Length / 1024.0 / 1024.0:F1} MiB), history.csv, history.json, loss.png, metrics.json, confusion.png in {folder}");
        }
        finally
        {
            foreach (var disposable in model.OfType<IDisposable>()) disposable.Dispose();
        }
    }

    /// <summary>Runs <paramref name="fit"/>, giving a divergence the CLI's advice (the flags) instead of the library's options.</summary>
    private static T InCliTerms<T>(Func<T> fit)
    {
        try
        {
            return fit();
        }
        catch (TrainingDivergedException e)
        {
            throw new InvalidOperationException($"{e.Description} Lower --lr (try `resnet-mlnet lr-find`) or check the images.");
        }
    }

    private static void WriteHistory(IReadOnlyList<EpochMetrics> history, string folder)
    {
        static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        var csv = new List<string> { "epoch,train_loss,valid_loss,accuracy,seconds,step_seconds,data_seconds,valid_seconds" };
        csv.AddRange(history.Select(h => string.Join(',', h.Epoch.ToString(CultureInfo.InvariantCulture), Number(h.TrainLoss),
            Number(h.ValidLoss), Number(h.Accuracy), Number(h.Duration.TotalSeconds), Number(h.StepTime.TotalSeconds),
            Number(h.DataTime.TotalSeconds), Number(h.ValidationTime.TotalSeconds))));
        AtomicFile.WriteAllLines(Path.Combine(folder, "history.csv"), csv);
        AtomicFile.WriteAllText(Path.Combine(folder, "history.json"), JsonSerializer.Serialize(history.Select(h => new
        {
            epoch = h.Epoch, trainLoss = h.TrainLoss, validLoss = h.ValidLoss, accuracy = h.Accuracy, seconds = h.Duration.TotalSeconds,
            stepSeconds = h.StepTime.TotalSeconds, dataSeconds = h.DataTime.TotalSeconds, validSeconds = h.ValidationTime.TotalSeconds,
        }), new JsonSerializerOptions { WriteIndented = true }));
        TrainingHistoryPlot.SavePng(history, Path.Combine(folder, "loss.png"));
    }
}
