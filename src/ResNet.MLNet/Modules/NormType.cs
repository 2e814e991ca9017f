namespace ResNet.MLNet.Modules;

/// <summary>How a <see cref="ConvLayer"/> initialises its BatchNorm (fastai's <c>NormType</c>).</summary>
public enum NormType
{
    /// <summary>BatchNorm with weight 1 and bias 1e-3.</summary>
    Batch,

    /// <summary>BatchNorm with weight 0 and bias 1e-3, so a residual branch starts as zero.</summary>
    BatchZero,
}
