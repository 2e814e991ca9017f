using System.Runtime.ExceptionServices;

namespace ResNet.MLNet.Transforms;

/// <summary><see cref="Parallel.For(int, int, Action{int})"/> that rethrows the first failure as itself (not an AggregateException).</summary>
internal static class Parallelism
{
    public static void For(int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
