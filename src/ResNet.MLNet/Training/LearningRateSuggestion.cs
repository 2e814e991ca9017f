namespace ResNet.MLNet.Training;

/// <summary>fastai's learning-rate suggestion functions for the LR range test.</summary>
public enum LearningRateSuggestion
{
    /// <summary>fastai's default: a point about 1/2 of the way along the longest decreasing stretch of the loss curve.</summary>
    Valley,

    /// <summary>The learning rate with the lowest loss, divided by 10.</summary>
    Minimum,

    /// <summary>The learning rate where the loss falls fastest (per unit of log learning rate).</summary>
    Steep,
}
