using TorchSharp;
using static TorchSharp.torch;

namespace ResNet.MLNet.Transforms;

/// <summary>
/// fastai's batch augmentation with TorchSharp: per image, flip/rotate/zoom compose into one affine matrix, the
/// perspective warp and the random-resized-crop into the same projective map; ONE <c>grid_sample</c> per batch
/// resamples every image (bilinear, reflection padding, align_corners as configured); lighting is applied in logit
/// space. The grid and, on the CPU, the lighting are fused passes (<see cref="AugmentationKernels"/>). Input images are
/// planar [3, H, W] (bytes 0..255 or floats 0..1); output floats 0..1.
/// </summary>
internal sealed class BatchAugmenter
{
    private readonly AugmentOptions _options;
    private readonly float[] _columnCoordinates;   // grid coordinate u of each output column
    private readonly float[] _rowCoordinates;      // grid coordinate v of each output row

    public BatchAugmenter(AugmentOptions options, int height, int width)
    {
        options.Validate();
        _options = options.Clone();
        Height = height;
        Width = width;
        OutputHeight = options.Size ?? height;
        OutputWidth = options.Size ?? width;
        _columnCoordinates = GridCoordinates(OutputWidth, options.AlignCorners);
        _rowCoordinates = GridCoordinates(OutputHeight, options.AlignCorners);
    }

    /// <summary>Source height.</summary>
    public int Height { get; }

    /// <summary>Source width.</summary>
    public int Width { get; }

    /// <summary>Output height.</summary>
    public int OutputHeight { get; }

    /// <summary>Output width.</summary>
    public int OutputWidth { get; }

    /// <summary>Draws the augmentation of <paramref name="count"/> images (fastai's distributions and probabilities).</summary>
    public ImageAugmentation[] Draw(Random random, int count)
    {
        var result = new ImageAugmentation[count];
        for (int i = 0; i < count; i++)
            result[i] = _options.SameForBatch && i > 0 ? result[0] : DrawOne(random);
        return result;
    }

    private ImageAugmentation DrawOne(Random random)
    {
        var o = _options;
        double Uniform(double lo, double hi) => lo + (hi - lo) * random.NextDouble();
        bool Happens(double p) => random.NextDouble() < p;

        int dihedral = 0;
        if (o.DoFlip)
            dihedral = o.FlipVertical ? (Happens(0.5) ? random.Next(8) : 0) : (Happens(0.5) ? 1 : 0);

        double maxWarp = o.MaxWarp * o.Multiplier, maxRotate = o.MaxRotate * o.Multiplier, maxLighting = o.MaxLighting * o.Multiplier;
        double warpX = 0, warpY = 0;
        if (maxWarp > 0 && Happens(o.PAffine))
        {
            warpX = Uniform(-maxWarp, maxWarp);
            warpY = Uniform(-maxWarp, maxWarp);
        }

        double rotate = maxRotate > 0 && Happens(o.PAffine) ? Uniform(-maxRotate, maxRotate) : 0;

        double scale = 1, zoomX = 0, zoomY = 0;
        if ((o.MinZoom < 1 || o.MaxZoom > 1) && Happens(o.PAffine))
        {
            scale = 1 / Uniform(o.MinZoom, o.MaxZoom);
            zoomX = (1 - scale) * Uniform(-1, 1);
            zoomY = (1 - scale) * Uniform(-1, 1);
        }

        double brightness = 0.5, contrast = 1;
        if (maxLighting > 0)
        {
            if (Happens(o.PLighting)) brightness = Uniform(0.5 * (1 - maxLighting), 0.5 * (1 + maxLighting));
            if (Happens(o.PLighting)) contrast = Math.Exp(Uniform(Math.Log(1 - maxLighting), -Math.Log(1 - maxLighting)));
        }

        var crop = DrawCrop(random);
        return crop with
        {
            Dihedral = dihedral, RotateDegrees = rotate, ZoomScale = scale, ZoomCenterX = zoomX, ZoomCenterY = zoomY,
            WarpX = warpX, WarpY = warpY, Brightness = brightness, Contrast = contrast,
        };
    }

    private static ImageAugmentation[] Pick(ImageAugmentation[] draws, IReadOnlyList<int> rows) => rows.Select(r => draws[r]).ToArray();

    /// <summary>fastai's random-resized-crop with aspect ratio 1: 10 tries at a random area, else the centre square.</summary>
    private ImageAugmentation DrawCrop(Random random)
    {
        int w = Width, h = Height;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double area = (_options.MinScale + (1 - _options.MinScale) * random.NextDouble()) * w * h;
            int side = (int)Math.Round(Math.Sqrt(area), MidpointRounding.ToEven);
            if (side <= w && side <= h && side > 0)
            {
                int top = random.Next(h - side + 1), left = random.Next(w - side + 1);
                return ImageAugmentation.Identity(w, h) with { CropLeft = left, CropTop = top, CropWidth = side, CropHeight = side };
            }
        }

        return ImageAugmentation.CenterSquare(w, h);
    }

    /// <summary>
    /// The sampling grid [outH, outW, 2] of the validation transform (the largest centred square), as <see cref="Apply"/>
    /// computes it; the saved scoring graph samples with it.
    /// </summary>
    public float[] ValidationGrid()
    {
        using var grid = AugmentationKernels.SamplingGrid([ImageAugmentation.CenterSquare(Width, Height).Matrix(Width, Height, _options.AlignCorners)],
            _columnCoordinates, _rowCoordinates);
        return grid.data<float>().ToArray();
    }

    /// <summary>
    /// Augments <paramref name="images"/> ([B, 3, H, W] floats in 0..1) with one augmentation per image; returns
    /// [B, 3, outH, outW] in the caller's dispose scope.
    /// </summary>
    /// <param name="images">[B, 3, H, W] floats.</param>
    /// <param name="augmentations">One augmentation per image.</param>
    /// <param name="inputScale">Multiplies the input values first (1/255 for byte-valued images), applied after resampling.</param>
    public Tensor Apply(Tensor images, IReadOnlyList<ImageAugmentation> augmentations, float inputScale = 1f)
    {
        int b = (int)images.shape[0];
        if (augmentations.Count != b)
            throw new ArgumentException($"Expected {b} augmentations, got {augmentations.Count}.", nameof(augmentations));
        using var scope = NewDisposeScope();
        var grid = AugmentationKernels.SamplingGrid(augmentations.Select(a => a.Matrix(Width, Height, _options.AlignCorners)).ToArray(),
            _columnCoordinates, _rowCoordinates);
        if (images.device_type != DeviceType.CPU) grid = grid.to(images.device);
        var output = nn.functional.grid_sample(images, grid,
            _options.Mode == InterpolationMode.Nearest ? GridSampleMode.Nearest : GridSampleMode.Bilinear,
            _options.PadMode switch
            {
                PadMode.Zeros => GridSamplePaddingMode.Zeros,
                PadMode.Border => GridSamplePaddingMode.Border,
                _ => GridSamplePaddingMode.Reflection,
            },
            _options.AlignCorners);

        if (!augmentations.Any(a => a.HasLighting))
        {
            if (inputScale != 1f) output = output.mul_(inputScale);   // resampling is linear: scale the smaller output
        }
        else if (output.device_type == DeviceType.CPU)
            AugmentationKernels.Lighting(output, augmentations.Select(a => (a.Brightness, a.Contrast)).ToArray(), inputScale);
        else
        {
            // The same arithmetic as tensor operations on the device: sigmoid(c · (logit(x) + logit(b))) =
            // 1 / (1 + exp(−c · logit(x) − c · logit(b))), logit clamping x to [eps, 1 − eps].
            var negC = tensor(augmentations.Select(a => (float)-a.Contrast).ToArray(), [b, 1, 1, 1], device: output.device);
            var negShift = tensor(augmentations.Select(a => (float)(-a.Contrast * Math.Log(a.Brightness / (1 - a.Brightness)))).ToArray(),
                [b, 1, 1, 1], device: output.device);
            output = addcmul(negShift, output.mul_(inputScale).logit(AugmentationKernels.LogitEpsilon), negC, 1).exp_().add_(1).reciprocal_();
        }

        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Augments a batch of planar images <c>[B, 3, H, W]</c> (Byte 0..255 or Float32 0..1): random draws when
    /// <paramref name="random"/> is given, else the validation transform (centre square resized to the output size).
    /// Returns <c>[B, 3, outH, outW]</c> floats in 0..1 in the caller's dispose scope; <paramref name="images"/> is not modified.
    /// When the images are some rows of a larger batch (<paramref name="rowsOfBatch"/>: each image's row among
    /// <paramref name="batchRows"/>), draws are made for the whole batch and each image gets its row's draw, so an image's
    /// augmentation does not depend on which other rows are computed.
    /// </summary>
    public Tensor Augment(Tensor images, Random? random, IReadOnlyList<int>? rowsOfBatch = null, int batchRows = 0)
    {
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != Height || images.shape[3] != Width)
            throw new ArgumentException($"Expected images [B, 3, {Height}, {Width}]; got [{string.Join(", ", images.shape)}].", nameof(images));
        bool isByte = images.dtype == ScalarType.Byte;
        if (!isByte && images.dtype != ScalarType.Float32)
            throw new ArgumentException($"Images of {images.dtype} cannot be augmented; use Byte or Float32.", nameof(images));
        int count = (int)images.shape[0];
        if (rowsOfBatch is not null && rowsOfBatch.Count != count)
            throw new ArgumentException($"Expected a batch row for each of the {count} images; got {rowsOfBatch.Count}.", nameof(rowsOfBatch));
        var augmentations = random is null
            ? Enumerable.Repeat(ImageAugmentation.CenterSquare(Width, Height), count).ToArray()
            : rowsOfBatch is null ? Draw(random, count) : Pick(Draw(random, batchRows), rowsOfBatch);
        using var scope = NewDisposeScope();
        var input = isByte ? images.to_type(ScalarType.Float32) : images;
        return Apply(input, augmentations, isByte ? 1f / 255f : 1f).MoveToOuterDisposeScope();
    }

    /// <summary>The normalised grid coordinate of each of <paramref name="n"/> pixels along one axis (grid_sample's convention).</summary>
    private static float[] GridCoordinates(int n, bool alignCorners) =>
        Enumerable.Range(0, n).Select(j => alignCorners ? (n == 1 ? 0f : -1f + 2f * j / (n - 1)) : (2f * j + 1f) / n - 1f).ToArray();
}
