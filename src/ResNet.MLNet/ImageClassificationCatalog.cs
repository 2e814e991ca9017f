using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;

namespace ResNet.MLNet;

/// <summary>
/// Adds <c>ml.MulticlassClassification.Trainers.ResNet(...)</c> (the trainer) and
/// <c>ml.MulticlassClassification.ImageClassification(...)</c> (preprocessing, trainer and label names in one call).
/// </summary>
public static class ImageClassificationCatalog
{
    /// <summary>
    /// An image classifier in one call, fastai's <c>ImageDataLoaders</c> + <c>Learner</c>:
    /// <c>ImageClassificationPreprocessing</c> → <c>Trainers.ResNet</c> → <c>MapKeyToValue("PredictedLabel")</c>, so the
    /// fitted model feeds <c>Evaluate</c> and a <c>PredictionEngine&lt;ImageInput, ImagePrediction&gt;</c> as it is.
    /// Fit it on <c>LoadImageFolder(...).All</c>: it trains on the rows with <c>IsValid</c> false and validates on the others.
    /// </summary>
    /// <param name="catalog">The multiclass classification catalog.</param>
    /// <param name="preprocessing">Column names, sizes, augmentation and cache (the chapter's defaults when null).</param>
    /// <param name="training">
    /// The trainer's options (its defaults when null); its <c>LabelColumnName</c> and <c>FeatureColumnName</c> must be the
    /// preprocessing's (they are at the defaults).
    /// </param>
    public static EstimatorChain<KeyToValueMappingTransformer> ImageClassification(this MulticlassClassificationCatalog catalog,
        ImagePreprocessingOptions? preprocessing = null, ResNetTrainer.Options? training = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var p = preprocessing ?? new ImagePreprocessingOptions();
        var t = training ?? new ResNetTrainer.Options();
        if (t.FeatureColumnName != p.FeatureColumnName)
            throw new ArgumentException($"ResNetTrainer.Options.FeatureColumnName ('{t.FeatureColumnName}') must be the column the preprocessing " +
                $"writes, ImagePreprocessingOptions.FeatureColumnName ('{p.FeatureColumnName}').", nameof(training));
        if (t.LabelColumnName != p.LabelColumnName)
            throw new ArgumentException($"ResNetTrainer.Options.LabelColumnName ('{t.LabelColumnName}') must be the label column the preprocessing " +
                $"maps to keys, ImagePreprocessingOptions.LabelColumnName ('{p.LabelColumnName}').", nameof(training));
        var ml = new MLContext();
        return ml.Transforms.ImageClassificationPreprocessing(p)
            .Append(catalog.Trainers.ResNet(t))
            .Append(ml.Transforms.Conversion.MapKeyToValue(ResNetTransformer.PredictedLabelColumnName));
    }

    /// <summary>fastai-style ResNet training (one-cycle Adam) with full options.</summary>
    public static ResNetTrainer ResNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, ResNetTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ResNetTrainer(options);
    }

    /// <summary>fastai-style ResNet training (one-cycle Adam) with the common settings.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Image tensor column, <c>Vector&lt;Single, 3, H, W&gt;</c>.</param>
    /// <param name="architecture">Network to train; <see cref="Architectures.ResNet18Chapter"/> when null.</param>
    /// <param name="epochs">Epochs of fit_one_cycle.</param>
    /// <param name="maxLearningRate">Peak learning rate.</param>
    /// <param name="batchSize">Rows per batch.</param>
    /// <param name="validationColumnName">Boolean splitter column (true = validation row); null trains on every row without validation.</param>
    public static ResNetTrainer ResNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Pixels, Architecture? architecture = null,
        int epochs = ResNetTrainer.Defaults.Epochs, float maxLearningRate = ResNetTrainer.Defaults.MaxLearningRate,
        int batchSize = ResNetTrainer.Defaults.BatchSize, string? validationColumnName = ResNetTrainer.Options.DefaultValidationColumnName)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var options = new ResNetTrainer.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            Epochs = epochs,
            MaxLearningRate = maxLearningRate,
            BatchSize = batchSize,
            ValidationColumnName = validationColumnName,
        };
        if (architecture is not null)
            options.Architecture = architecture;
        return new ResNetTrainer(options);
    }
}
