using Microsoft.ML;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Training;

namespace ResNet.MLNet;

/// <summary>Adds <c>ml.MulticlassClassification.Trainers.ResNet(...)</c>.</summary>
public static class ResNetTrainerCatalog
{
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
