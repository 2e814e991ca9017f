namespace ResNet.MLNet.Training;

/// <summary>Draws from Beta(α, α) with a <see cref="Random"/>, as the ratio of two Gamma(α) draws (Marsaglia and Tsang's method).</summary>
internal static class BetaDistribution
{
    public static double Sample(Random random, double alpha)
    {
        double x = Gamma(random, alpha), y = Gamma(random, alpha);
        return x + y == 0 ? 0.5 : x / (x + y);
    }

    private static double Gamma(Random random, double shape)
    {
        if (shape < 1) return Gamma(random, shape + 1) * Math.Pow(1 - random.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = 1 - random.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
