namespace ResNet.MLNet.Training;

public sealed partial class ResNetTrainer
{
    /// <summary>The default values of <see cref="Options"/> that the catalog's parameters and the CLI's flags repeat.</summary>
    internal static class Defaults
    {
        public const int Epochs = 5;
        public const float MaxLearningRate = 1e-3f;
        public const int BatchSize = 64;
        public const string Device = "auto";
    }
}
