using Microsoft.ML;
using Microsoft.ML.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Tests.Training;

/// <summary>When training runs in bf16, the epoch's validation does too, and agrees with fp32 scoring.</summary>
public class Bf16ScoringTests
{
    /// <summary>During validation, compares each batch's predictions with the fp32 master's on the same input.</summary>
    private sealed class Fp32Comparison : LearnerCallback
    {
        public double MaxDifference { get; private set; }
        public int Rows { get; private set; }
        public int SameClass { get; private set; }

        public override void AfterPred(LearnerState state)
        {
            if (state.Training) return;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var fp32 = state.Model.forward(state.Input!);
            MaxDifference = Math.Max(MaxDifference, (state.Prediction! - fp32).abs().max().item<float>());
            Rows += (int)fp32.shape[0];
            SameClass += (int)state.Prediction!.argmax(1).eq(fp32.argmax(1)).sum().item<long>();
        }
    }

    [Fact]
    public void ValidationRunsInBf16WhenTrainingDoesAndAgreesWithFp32Scoring()
    {
        var ml = new MLContext(0);
        var data = SquaresData.Load(ml, perClassTrain: 32, perClassValid: 200);
        var comparison = new Fp32Comparison();
        var o = SquaresData.TrainerOptions(epochs: 3);
        o.MixedPrecision = true;
        o.CpuHalfPrecision = ScalarType.BFloat16;
        o.Callbacks.Add(comparison);
        using var model = new ResNetTrainer(o).Fit(data);

        Assert.Equal(3 * 800, comparison.Rows);
        Assert.True(comparison.MaxDifference > 0, "validation gave the fp32 master's logits exactly: it did not run in bf16");
        Assert.True(comparison.SameClass >= 0.995 * comparison.Rows, $"bf16 and fp32 predict the same class for {comparison.SameClass} of {comparison.Rows} rows");

        // Transform scores batches with the bf16 copy too; its accuracy is the epoch's, and within 0.5 points of fp32's.
        Assert.NotNull(model.Bf16Scoring);
        var validRows = ml.Data.FilterByCustomPredicate<ValidFlag>(data, r => !r.IsValid);
        double bf16Accuracy = ml.MulticlassClassification.Evaluate(model.Transform(validRows)).MicroAccuracy;
        Assert.Equal(model.History[^1].Accuracy!.Value, bf16Accuracy, 6);
        var pixels = validRows.GetColumn<float[]>("Pixels").SelectMany(p => p).ToArray();
        var labels = validRows.GetColumn<uint>("Label").Select(k => (long)k - 1).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var predicted = model.Model.forward(tensor(pixels, [labels.Length, 3, SquaresData.Size, SquaresData.Size])).argmax(1);
        double fp32Accuracy = predicted.eq(tensor(labels)).sum().item<long>() / (double)labels.Length;
        Assert.True(Math.Abs(bf16Accuracy - fp32Accuracy) <= 0.005 + 1e-9, $"bf16 accuracy {bf16Accuracy:F4}, fp32 {fp32Accuracy:F4}");
    }

    private sealed class ValidFlag
    {
        public bool IsValid { get; set; }
    }
}
