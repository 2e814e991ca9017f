namespace ResNet.MLNet.Training;

/// <summary>Thrown when the training loss becomes NaN or infinite; names the epoch and batch where it happened.</summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="epoch"/> and <paramref name="batch"/> (both zero-based).</summary>
    public TrainingDivergedException(int epoch, int batch, double loss, double learningRate)
        : base($"Training diverged: the loss became {loss} at epoch {epoch}, batch {batch} (learning rate {learningRate:G3}). " +
            "Lower MaxLearningRate (try LearningRateFinder), check the inputs for NaN/Inf values, or disable MixedPrecision.")
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
    }

    /// <summary>Zero-based epoch in which the loss stopped being finite.</summary>
    public int Epoch { get; }

    /// <summary>Zero-based batch index within that epoch.</summary>
    public int Batch { get; }

    /// <summary>The non-finite loss value.</summary>
    public double Loss { get; }
}
