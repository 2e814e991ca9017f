using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResNet.MLNet.Modules;

/// <summary>
/// fastai's <c>create_head(nf, n_out)</c> with its defaults (<c>lin_ftrs=[512]</c>, <c>ps=0.5</c>, concat pooling):
/// AdaptiveConcatPool2d → Flatten → BatchNorm1d(2·nf) → Dropout(0.25) → Linear(2·nf, 512, no bias) → ReLU →
/// BatchNorm1d(512) → Dropout(0.5) → Linear(512, n_out, no bias); linear weights kaiming-normal, as vision_learner
/// initialises a new head.
/// </summary>
internal static class FastaiHead
{
    /// <summary>Creates the head for a body with <paramref name="features"/> output channels and <paramref name="classes"/> outputs.</summary>
    public static Sequential Create(long features, long classes)
    {
        var hidden = nn.Linear(2 * features, 512, hasBias: false);
        var output = nn.Linear(512, classes, hasBias: false);
        using (no_grad())
        {
            nn.init.kaiming_normal_(hidden.weight);
            nn.init.kaiming_normal_(output.weight);
        }
        return nn.Sequential(
            ("0", new AdaptiveConcatPool2d()), ("1", nn.Flatten()), ("2", nn.BatchNorm1d(2 * features)), ("3", nn.Dropout(0.25)),
            ("4", hidden), ("5", nn.ReLU()), ("6", nn.BatchNorm1d(512)), ("7", nn.Dropout(0.5)), ("8", output));
    }
}
