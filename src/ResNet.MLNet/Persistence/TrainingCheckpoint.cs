using System.Text;
using ResNet.MLNet.IO;
using ResNet.MLNet.Training;
using TorchSharp;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// The per-epoch checkpoint: the run's identity (architecture, classes, image shape, schedule), progress (epochs done,
/// smoothed loss, history, loss scale), the model's state dict (weights and BatchNorm statistics) and the optimiser
/// state. Written through <see cref="AtomicFile"/>, so a crash or signal never leaves a torn checkpoint.
/// </summary>
internal sealed record TrainingCheckpoint(string Architecture, int ClassCount, int[] ImageShape, int Epochs, long BatchesPerEpoch,
    double MaxLearningRate, int Seed)
{
    public const string FileName = "checkpoint.resnet-mlnet";
    private const string Magic = "RESNET-MLNET-CHECKPOINT";
    private const int Version = 1;

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>
    /// Writes the checkpoint after <paramref name="epochsDone"/> epochs. A cancellation arriving meanwhile does not stop it:
    /// the finished epoch is what a resumed run starts from.
    /// </summary>
    public void Save(string directory, LearnerState state, int epochsDone, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.DeleteStale(directory);
        AtomicFile.Write(PathIn(directory), stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(Version);
            WriteIdentity(writer);
            writer.Write(epochsDone);
            var recorder = state.Recorder!;
            writer.Write(recorder.Smoothed.Count);
            writer.Write(recorder.Smoothed.RawAverage);
            writer.Write(state.Half?.Scaler.Scale ?? 0);
            writer.Write(state.Half?.Scaler.CleanSteps ?? 0);
            writer.Write(recorder.History.Count);
            foreach (var m in recorder.History)
            {
                writer.Write(m.Epoch);
                writer.Write(m.TrainLoss);
                writer.Write(m.ValidLoss ?? double.NaN);
                writer.Write(m.Accuracy ?? double.NaN);
                writer.Write(m.Duration.Ticks);
            }
            state.Model.save(writer);
            state.Optimizer!.Save(writer);
            writer.Flush();
        }, cancellationToken, finishWhenCancelled: true);
    }

    /// <summary>
    /// Loads the checkpoint into <paramref name="learner"/> and <paramref name="recorder"/> and returns the number of epochs
    /// it had completed.
    /// </summary>
    public int Load(string directory, Learner learner, Recorder recorder)
    {
        string path = PathIn(directory);
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var (saved, progress) = ReadHeader(reader);
            if (saved.Architecture != Architecture || saved.ClassCount != ClassCount || !saved.ImageShape.SequenceEqual(ImageShape)
                || saved.Epochs != Epochs || saved.BatchesPerEpoch != BatchesPerEpoch || saved.MaxLearningRate != MaxLearningRate)
                throw new InvalidDataException($"it belongs to a different run ({saved.Describe()}; this run is {Describe()})");
            learner.Model.load(reader);
            learner.Optimizer.Load(reader);
            recorder.Restore(progress.History, progress.SmoothedCount, progress.SmoothedAverage);
            if (learner.Half is not null)
            {
                if (progress.LossScale > 0) learner.Half.Scaler.Restore(progress.LossScale, progress.CleanSteps);
                learner.Half.SyncAllFromMaster();
            }
            return progress.EpochsDone;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or ArgumentException or IOException)
        {
            throw new InvalidDataException($"Cannot resume from checkpoint '{path}' (Options.CheckpointDirectory): {ex.Message}. " +
                "Delete it or set Resume = false to start over.", ex);
        }
    }

    /// <summary>
    /// Reads a checkpoint file's identity and rebuilds its trained network (a built-in architecture, eval mode), e.g.
    /// to export it; the optimiser state is not read.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, damaged, or an architecture outside <see cref="Modules.Architectures"/>.</exception>
    public static (TrainingCheckpoint Identity, torch.nn.Module<torch.Tensor, torch.Tensor> Network) ReadNetwork(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var (identity, _) = ReadHeader(reader);
            var network = Modules.Architectures.Get(identity.Architecture).Create(identity.ClassCount);
            try
            {
                network.load(reader);
                network.eval();
                return (identity, network);
            }
            catch
            {
                network.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or ArgumentException or IOException)
        {
            throw new InvalidDataException($"Cannot read the network from checkpoint '{path}': {ex.Message}", ex);
        }
    }

    private string Describe() => $"{Architecture}, {ClassCount} classes, images [{string.Join(",", ImageShape)}], {Epochs} epochs of " +
        $"{BatchesPerEpoch} batches, max LR {MaxLearningRate:G3}";

    private void WriteIdentity(BinaryWriter w)
    {
        w.Write(Architecture);
        w.Write(ClassCount);
        foreach (int d in ImageShape) w.Write(d);
        w.Write(Epochs);
        w.Write(BatchesPerEpoch);
        w.Write(MaxLearningRate);
        w.Write(Seed);
    }

    /// <summary>What a checkpoint records of the run's progress, between its identity and the weights.</summary>
    private sealed record Progress(int EpochsDone, int SmoothedCount, double SmoothedAverage, double LossScale, int CleanSteps,
        List<EpochMetrics> History);

    /// <summary>Reads the format check, the identity and the progress; the reader is then at the model's state dict.</summary>
    private static (TrainingCheckpoint Identity, Progress Progress) ReadHeader(BinaryReader reader)
    {
        if (reader.ReadString() != Magic || reader.ReadInt32() != Version)
            throw new InvalidDataException("not a ResNet.MLNet checkpoint of this version");
        var identity = ReadIdentity(reader);
        int epochsDone = reader.ReadInt32();
        int smoothedCount = reader.ReadInt32();
        double smoothedAverage = reader.ReadDouble();
        double scale = reader.ReadDouble();
        int cleanSteps = reader.ReadInt32();
        int historyCount = reader.ReadInt32();
        var history = new List<EpochMetrics>();
        for (int i = 0; i < historyCount; i++)
        {
            int epoch = reader.ReadInt32();
            double train = reader.ReadDouble(), valid = reader.ReadDouble(), accuracy = reader.ReadDouble();
            var duration = TimeSpan.FromTicks(reader.ReadInt64());
            history.Add(new EpochMetrics(epoch, train, double.IsNaN(valid) ? null : valid, double.IsNaN(accuracy) ? null : accuracy, duration));
        }
        return (identity, new Progress(epochsDone, smoothedCount, smoothedAverage, scale, cleanSteps, history));
    }

    private static TrainingCheckpoint ReadIdentity(BinaryReader r) => new(r.ReadString(), r.ReadInt32(),
        [r.ReadInt32(), r.ReadInt32(), r.ReadInt32()], r.ReadInt32(), r.ReadInt64(), r.ReadDouble(), r.ReadInt32());
}
