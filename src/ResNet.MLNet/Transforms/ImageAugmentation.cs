namespace ResNet.MLNet.Transforms;

/// <summary>
/// The random draws for one image of a training batch (fastai's <c>aug_transforms</c> + random-resized-crop),
/// and the single projective map they compose into. Coordinates are normalised to [-1, 1] as in
/// <c>grid_sample</c>; the map takes an output position to the source position it samples.
/// </summary>
internal readonly record struct ImageAugmentation
{
    /// <summary>Dihedral index 0..7: bit 0 flips x, bit 1 flips y, bit 2 transposes (a horizontal flip is 1).</summary>
    public int Dihedral { get; init; }

    /// <summary>Rotation in degrees (0 = none).</summary>
    public double RotateDegrees { get; init; }

    /// <summary>Zoom scale s = 1/zoom (1 = none) and the zoom centre offset per axis, (1 − s)·U(−1, 1).</summary>
    public double ZoomScale { get; init; }

    /// <summary>Zoom centre offset on x.</summary>
    public double ZoomCenterX { get; init; }

    /// <summary>Zoom centre offset on y.</summary>
    public double ZoomCenterY { get; init; }

    /// <summary>Perspective warp magnitudes (0 = none).</summary>
    public double WarpX { get; init; }

    /// <summary>Perspective warp magnitude on y.</summary>
    public double WarpY { get; init; }

    /// <summary>Crop rectangle in source pixels: left, top, width, height.</summary>
    public int CropLeft { get; init; }

    /// <summary>Crop top.</summary>
    public int CropTop { get; init; }

    /// <summary>Crop width.</summary>
    public int CropWidth { get; init; }

    /// <summary>Crop height.</summary>
    public int CropHeight { get; init; }

    /// <summary>Brightness b (0.5 = none).</summary>
    public double Brightness { get; init; }

    /// <summary>Contrast c (1 = none).</summary>
    public double Contrast { get; init; }

    /// <summary>The identity augmentation for a source of <paramref name="width"/>×<paramref name="height"/> (no crop).</summary>
    public static ImageAugmentation Identity(int width, int height) => new()
    {
        ZoomScale = 1, CropWidth = width, CropHeight = height, Brightness = 0.5, Contrast = 1,
    };

    /// <summary>The validation crop: the largest centred square (fastai's validation random-resized-crop).</summary>
    public static ImageAugmentation CenterSquare(int width, int height)
    {
        int side = Math.Min(width, height);
        return Identity(width, height) with
        {
            CropWidth = side, CropHeight = side, CropLeft = (width - side) / 2, CropTop = (height - side) / 2,
        };
    }

    /// <summary>True when brightness or contrast changes the pixels.</summary>
    public bool HasLighting => Brightness != 0.5 || Contrast != 1;

    /// <summary>
    /// The 3×3 projective matrix (row-major) from output grid coordinates to source grid coordinates:
    /// warp · (flip · rotate · zoom) · crop.
    /// </summary>
    public double[] Matrix(int sourceWidth, int sourceHeight, bool alignCorners)
    {
        var crop = CropMatrix(sourceWidth, sourceHeight, alignCorners);
        var affine = Multiply(Multiply(DihedralMatrix(Dihedral), RotationMatrix(RotateDegrees)),
            [ZoomScale, 0, ZoomCenterX, 0, ZoomScale, ZoomCenterY, 0, 0, 1]);
        return Multiply(WarpMatrix(WarpX, WarpY), Multiply(affine, crop));
    }

    private double[] CropMatrix(int w, int h, bool alignCorners)
    {
        // Output u in [-1, 1] → crop pixel → source pixel → source grid coordinate.
        (double ax, double bx) = Axis(CropLeft, CropWidth, w, alignCorners);
        (double ay, double by) = Axis(CropTop, CropHeight, h, alignCorners);
        return [ax, 0, bx, 0, ay, by, 0, 0, 1];

        static (double, double) Axis(int start, int length, int size, bool align)
        {
            if (align)
            {
                if (size == 1) return (0, 0);
                double a = (length - 1.0) / (size - 1.0);
                return (a, 2.0 * start / (size - 1.0) + a - 1);
            }

            return ((double)length / size, (2.0 * start + length) / size - 1);
        }
    }

    private static double[] DihedralMatrix(int k)
    {
        double fx = (k & 1) != 0 ? -1 : 1, fy = (k & 2) != 0 ? -1 : 1;
        return (k & 4) != 0 ? [0, fx, 0, fy, 0, 0, 0, 0, 1] : [fx, 0, 0, 0, fy, 0, 0, 0, 1];
    }

    private static double[] RotationMatrix(double degrees)
    {
        double t = degrees * Math.PI / 180, c = Math.Cos(t), s = Math.Sin(t);
        return [c, s, 0, -s, c, 0, 0, 0, 1];
    }

    /// <summary>The homography moving the corners (±1, ±1) as fastai's <c>Warp</c> does.</summary>
    private static double[] WarpMatrix(double x, double y)
    {
        if (x == 0 && y == 0) return [1, 0, 0, 0, 1, 0, 0, 0, 1];
        double[,] source = { { -1, -1 }, { -1, 1 }, { 1, -1 }, { 1, 1 } };
        double[,] target = { { -1 - y, -1 - x }, { -1 + y, 1 + x }, { 1 + y, -1 + x }, { 1 - y, 1 - x } };
        var a = new double[8, 8];
        var b = new double[8];
        for (int i = 0; i < 4; i++)
        {
            double sx = source[i, 0], sy = source[i, 1], tx = target[i, 0], ty = target[i, 1];
            double[] r0 = [sx, sy, 1, 0, 0, 0, -tx * sx, -tx * sy];
            double[] r1 = [0, 0, 0, sx, sy, 1, -ty * sx, -ty * sy];
            for (int j = 0; j < 8; j++)
            {
                a[2 * i, j] = r0[j];
                a[2 * i + 1, j] = r1[j];
            }

            b[2 * i] = tx;
            b[2 * i + 1] = ty;
        }

        var h = Solve(a, b);
        return [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1];
    }

    /// <summary>Gaussian elimination with partial pivoting for the 8×8 warp system.</summary>
    private static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
                if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            if (pivot != col)
            {
                for (int j = 0; j < n; j++) (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
                (b[col], b[pivot]) = (b[pivot], b[col]);
            }

            for (int r = col + 1; r < n; r++)
            {
                double f = a[r, col] / a[col, col];
                for (int j = col; j < n; j++) a[r, j] -= f * a[col, j];
                b[r] -= f * b[col];
            }
        }

        var x = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double sum = b[r];
            for (int j = r + 1; j < n; j++) sum -= a[r, j] * x[j];
            x[r] = sum / a[r, r];
        }

        return x;
    }

    private static double[] Multiply(double[] p, double[] q)
    {
        var r = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                r[3 * i + j] = p[3 * i] * q[j] + p[3 * i + 1] * q[3 + j] + p[3 * i + 2] * q[6 + j];
        return r;
    }
}
