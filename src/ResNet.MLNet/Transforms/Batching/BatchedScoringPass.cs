namespace ResNet.MLNet.Transforms.Batching;

/// <summary>
/// The <see cref="Random"/> a cursor is requested with to read the deterministic (scoring) values as batch tensors,
/// as the trainer's validation passes do: the library's batched transforms that have a deterministic batch form
/// (<c>AugmentImages</c>' validation crop, <c>NormalizeImages</c>) compute it in batches, as on a training pass,
/// instead of row by row through their stock scoring chain; every other view takes its scoring path. Stock ML.NET
/// views treat it as any <see cref="Random"/> (a cache checkpoint below serves its rows in a shuffled order, which a
/// whole-set validation pass does not mind).
/// </summary>
internal sealed class BatchedScoringPass : Random
{
    private BatchedScoringPass() : base(0)
    {
    }

    /// <summary>A new pass marker (each cursor gets its own, as a Random is not thread-safe).</summary>
    public static Random Create() => new BatchedScoringPass();

    /// <summary>True for a cursor <see cref="Random"/> that asks for a batched scoring pass.</summary>
    public static bool Is(Random? random) => random is BatchedScoringPass;
}
