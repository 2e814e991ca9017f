using ResNet.MLNet.Persistence;

namespace ResNet.MLNet.Training;

/// <summary>
/// Writes the run's checkpoint (atomically) after every epoch, once the recorder has added the epoch to the history;
/// a cancellation arriving during the write lets it finish (see <see cref="TrainingCheckpoint.Save"/>).
/// </summary>
internal sealed class CheckpointCallback(TrainingCheckpoint identity, string directory, CancellationToken cancellation) : LearnerCallback
{
    public override int Order => 70;

    public override void AfterEpoch(LearnerState state) => identity.Save(directory, state, state.Epoch + 1, cancellation);
}
