using ResNet.MLNet.Benchmarks.Harness;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;
using static TorchSharp.torch;

namespace ResNet.MLNet.Benchmarks.Cases;

/// <summary>
/// The trainer's own step (<see cref="Learner.TrainBatch"/>: forward, cross-entropy, loss read-back, backward,
/// <see cref="FastaiAdam"/> with the one-cycle learning rate and momentum, gradients cleared; in the memory layout the
/// trainer's <see cref="StepTrial"/> chooses) on one pre-made batch, timed in runs of as many steps as take
/// <see cref="RunSeconds"/> (at least 2) after two warm-up steps.
/// </summary>
public sealed class RawStepRunner : IDisposable
{
    /// <summary>A run lasts at least this long: enough steps that timer and scheduler noise stay small.</summary>
    public const double RunSeconds = 0.6;

    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly HalfPrecisionCopy? _half;
    private readonly Learner _learner;
    private readonly Tensor _x;
    private readonly Tensor _y;
    private readonly ImageBatch _batch;
    private readonly ParamScheduler _schedule = ParamScheduler.OneCycle(1e-3);
    private int _step;

    /// <param name="halfPrecision">BFloat16: the trainer's mixed-precision step (bf16 working copy, fp32 master weights); null: fp32.</param>
    public RawStepRunner(Architecture architecture, int batch, int size, int classes = 10, ScalarType? halfPrecision = null)
    {
        manual_seed(0);
        _model = architecture.Create(classes);
        _model.train();
        if (halfPrecision is ScalarType dtype)
        {
            var working = architecture.Create(classes);
            working.train();
            _half = new HalfPrecisionCopy(_model, working, dtype, new LossScaler());
        }
        var layouts = MemoryFormat.Layouts(null, CPU, _model).Select(cl => new StepSettings(cl, halfPrecision)).ToArray();
        var settings = StepTrial.Choose(layouts, architecture, classes, [3, size, size], batch, CPU, TextWriter.Null,
            StepTrialRecords.Default, CancellationToken.None);
        _learner = new Learner(_model, CPU, batch, weightDecay: 0.01, _half, TextWriter.Null, settings.ChannelsLast);
        _x = randn(batch, 3, size, size);
        _y = randint(0, classes, new long[] { batch });
        _batch = new ImageBatch(_x, _y);
        Steps = 1;
        Run();   // first steps: allocations, oneDNN primitive creation
        Run();
        double one = Run().WallSeconds;
        Steps = Math.Clamp((int)Math.Ceiling(RunSeconds / one), 2, 32);
        BatchSize = batch;
    }

    /// <summary>The memory layout the trainer chose for this model and batch.</summary>
    public bool ChannelsLast => _learner.ChannelsLast;

    /// <summary>Steps per run.</summary>
    public int Steps { get; private set; }

    /// <summary>Images per step.</summary>
    public int BatchSize { get; }

    /// <summary>Runs <see cref="Steps"/> steps and returns their wall and CPU time.</summary>
    public CpuTime Run() => CpuTime.Measure(() =>
    {
        for (int i = 0; i < Steps; i++, _step++)
        {
            double position = Math.Min(1, _step / 200.0);   // the schedule's values change nothing in the cost of a step
            _learner.TrainBatch(_batch, _schedule.LearningRate(position), _schedule.Momentum(position));
        }
    });

    /// <summary>Images per second of a run.</summary>
    public double ImagesPerSecond(CpuTime run) => Steps * BatchSize / run.WallSeconds;

    public void Dispose()
    {
        _learner.Dispose();
        _model.Dispose();
        _x.Dispose();
        _y.Dispose();
    }
}
