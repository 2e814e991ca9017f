namespace ResNet.MLNet.Training;

/// <summary>
/// Thrown when the training or validation loss becomes NaN or infinite, or the smoothed training loss exceeds
/// <see cref="DivergenceGuard.Factor"/> × the fit's first batch loss (see <see cref="Limit"/>); names the epoch and batch
/// where it happened.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    private const string Advice = "Lower MaxLearningRate (try LearningRateFinder), check the inputs for NaN/Inf values, or disable MixedPrecision.";

    /// <summary>Creates the exception for <paramref name="epoch"/> and <paramref name="batch"/> (both zero-based).</summary>
    public TrainingDivergedException(int epoch, int batch, double loss, double learningRate)
        : this(epoch, batch, loss, null, $"Training diverged: the loss became {loss} at epoch {epoch}, batch {batch} (learning rate {learningRate:G3}).")
    {
    }

    /// <summary>Creates the exception for a loss (<paramref name="what"/>) that exceeded <paramref name="limit"/>.</summary>
    public TrainingDivergedException(int epoch, int batch, double loss, double learningRate, string what, double limit)
        : this(epoch, batch, loss, limit, $"Training diverged: {what} reached {loss:G4} at epoch {epoch}{(batch >= 0 ? $", batch {batch}" : "")} " +
            $"(learning rate {learningRate:G3}), above {limit:G4}: {DivergenceGuard.Factor:G} × the first batch's loss (or × ln(classes) when that is larger).")
    {
    }

    /// <summary>The exception for an epoch whose validation loss is NaN or infinite.</summary>
    internal static TrainingDivergedException NonFiniteValidationLoss(int epoch, double loss, double learningRate) =>
        new(epoch, -1, loss, null, $"Training diverged: the validation loss became {loss} at epoch {epoch} (learning rate {learningRate:G3}).");

    private TrainingDivergedException(int epoch, int batch, double loss, double? limit, string description)
        : base(description + " " + Advice)
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
        Limit = limit;
        Description = description;
    }

    /// <summary>What happened, without the advice on what to change (callers with their own vocabulary add theirs).</summary>
    public string Description { get; }

    /// <summary>Zero-based epoch in which the loss diverged.</summary>
    public int Epoch { get; }

    /// <summary>Zero-based batch index within that epoch (-1 for a validation loss).</summary>
    public int Batch { get; }

    /// <summary>The non-finite or too large loss value.</summary>
    public double Loss { get; }

    /// <summary>The limit the loss exceeded; null when it was not finite.</summary>
    public double? Limit { get; }
}
