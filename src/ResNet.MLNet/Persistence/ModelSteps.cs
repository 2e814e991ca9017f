using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Persistence;

/// <summary>
/// A model's transformers in order, with the schema before and after each (public ML.NET API only): how a reloaded
/// model.zip is taken apart after its image loader or before its network.
/// </summary>
internal sealed class ModelSteps
{
    private ModelSteps(IReadOnlyList<ITransformer> steps, IReadOnlyList<DataViewSchema> schemas)
    {
        Steps = steps;
        Schemas = schemas;
    }

    /// <summary>The transformers, nested chains flattened.</summary>
    public IReadOnlyList<ITransformer> Steps { get; }

    /// <summary><c>Schemas[i]</c> is the input of <c>Steps[i]</c>; the last one is the model's output.</summary>
    public IReadOnlyList<DataViewSchema> Schemas { get; }

    /// <summary>
    /// Flattens <paramref name="model"/>. A model with this library's transformers is first saved to memory and
    /// reloaded, so its steps are the stock ones its model.zip holds.
    /// </summary>
    public static ModelSteps Of(MLContext ml, ITransformer model, DataViewSchema inputSchema)
    {
        var steps = Flatten(model).ToList();
        if (!steps.OfType<ImageLoadingTransformer>().Any() && steps.All(s => s is ICanSaveModel))
            steps = Flatten(RoundTrip(ml, model, inputSchema)).ToList();
        var schemas = new List<DataViewSchema> { inputSchema };
        foreach (var step in steps) schemas.Add(step.GetOutputSchema(schemas[^1]));
        return new ModelSteps(steps, schemas);
    }

    /// <summary>The index of the image-loading step (ML.NET's <c>LoadImages</c>) and the image column it adds.</summary>
    /// <exception cref="ArgumentException">No loader, or it loads more than one image column.</exception>
    public (int Index, string ImageColumn) ImageLoader()
    {
        int loader = Steps.ToList().FindIndex(s => s is ImageLoadingTransformer);
        if (loader < 0)
            throw new ArgumentException("The model has no image-loading step (ML.NET's LoadImages, saved by LoadImageFiles); it does not read images.");
        var before = Schemas[loader];
        var images = Schemas[loader + 1].Where(c => c.Type is ImageDataViewType && before.GetColumnOrNull(c.Name)?.Type is not ImageDataViewType)
            .Select(c => c.Name).Distinct().ToArray();
        return images.Length == 1 ? (loader, images[0])
            : throw new ArgumentException($"The model's image-loading step loads {images.Length} image columns; expected one.");
    }

    /// <summary>The index of the step that adds <paramref name="scoreColumnName"/> (the network).</summary>
    /// <exception cref="ArgumentException">No step adds it.</exception>
    public int ScoringStep(string scoreColumnName)
    {
        for (int i = 0; i < Steps.Count; i++)
            if (Schemas[i].GetColumnOrNull(scoreColumnName) is null && Schemas[i + 1].GetColumnOrNull(scoreColumnName) is not null)
                return i;
        throw new ArgumentException($"No step of the model adds a '{scoreColumnName}' column; is it a classifier?");
    }

    /// <summary>Steps <paramref name="start"/>.. as one chain.</summary>
    public TransformerChain<ITransformer> From(int start) => new(Steps.Skip(start).ToArray());

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    private static ITransformer RoundTrip(MLContext ml, ITransformer model, DataViewSchema inputSchema)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(model, inputSchema, stream);
        stream.Position = 0;
        return ScratchFolder.NewContext().Model.Load(stream, out _);
    }
}
