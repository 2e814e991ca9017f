namespace ResNet.MLNet.Training;

/// <summary>
/// How a fit spends its epochs (<c>ResNetTrainer.Options.Schedule</c>): fastai's <c>fit_one_cycle</c> (<see cref="OneCycle"/>,
/// the default), or its <c>fine_tune</c> (<see cref="FineTune"/>) for a network with a pretrained body.
/// </summary>
public sealed class TrainingSchedule
{
    private TrainingSchedule(bool isFineTune, int freezeEpochs, float learningRateMultiplier)
    {
        IsFineTune = isFineTune;
        FreezeEpochs = freezeEpochs;
        LearningRateMultiplier = learningRateMultiplier;
    }

    /// <summary>fastai's <c>fit_one_cycle(Epochs, MaxLearningRate)</c> with the options' <c>PctStart</c>, <c>Div</c> and <c>DivFinal</c>.</summary>
    public static TrainingSchedule OneCycle { get; } = new(false, 0, 1);

    /// <summary>
    /// fastai's <c>fine_tune</c>: <paramref name="freezeEpochs"/> epochs training only the head (and BatchNorm layers) at
    /// <c>MaxLearningRate</c> (pct_start 0.99), then <c>Epochs</c> epochs of the whole network at half that, spread
    /// geometrically over the parameter groups from 1/<paramref name="learningRateMultiplier"/> of it (pct_start 0.3,
    /// div 5). Needs a network with parameter groups (the torchvision architectures).
    /// </summary>
    public static TrainingSchedule FineTune(int freezeEpochs = 1, float learningRateMultiplier = 100)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(freezeEpochs);
        if (!(learningRateMultiplier >= 1) || float.IsInfinity(learningRateMultiplier))
            throw new ArgumentOutOfRangeException(nameof(learningRateMultiplier), learningRateMultiplier, "fine_tune's learning-rate multiplier must be a finite number of at least 1.");
        return new TrainingSchedule(true, freezeEpochs, learningRateMultiplier);
    }

    /// <summary>Whether this is <c>fine_tune</c>.</summary>
    public bool IsFineTune { get; }

    /// <summary>fine_tune's epochs with the body frozen (fastai's <c>freeze_epochs</c>); 0 for fit_one_cycle.</summary>
    public int FreezeEpochs { get; }

    /// <summary>fine_tune's ratio between the head's and the first group's learning rate (fastai's <c>lr_mult</c>); 1 for fit_one_cycle.</summary>
    public float LearningRateMultiplier { get; }
}
