using Microsoft.ML;
using ResNet.MLNet.Interpretation;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Cli.Commands;

/// <summary><c>evaluate --tta</c>: fastai's <c>learn.tta</c> on a model.zip, with the train command's augmentation rebuilt in front of its network.</summary>
internal static class TtaEvaluation
{
    /// <summary>Scores <paramref name="rows"/> with TTA and prints its accuracy and log-loss beside the plain pass's.</summary>
    public static ClassificationInterpretation Run(MLContext ml, ITransformer model, DataViewSchema inputSchema, IDataView rows,
        int passes, float minScale, TextWriter writer)
    {
        var augmenting = TestTimeAugmentation.WithAugmentation(ml, model, inputSchema, rows, minScale);
        var result = TestTimeAugmentation.Predict(augmenting, rows, passes);
        var plain = ClassificationInterpretation.FromScored(model.Transform(rows));
        var paths = plain.Items.Select(i => i.ImagePath).ToArray();
        var labels = plain.Items.Select(i => i.Actual).ToArray();
        var tta = new ClassificationInterpretation(paths, labels, result.Probabilities, result.ClassNames);
        writer.WriteLine($"tta (n={passes}, beta={TestTimeAugmentation.DefaultBeta}): accuracy {tta.Accuracy:F4}   log-loss {MeanLoss(tta):F4}   " +
            $"(plain: accuracy {plain.Accuracy:F4}   log-loss {MeanLoss(plain):F4})");
        return tta;
    }

    private static double MeanLoss(ClassificationInterpretation interpretation) =>
        interpretation.Items.Count == 0 ? 0 : interpretation.Items.Average(i => i.Loss);
}
