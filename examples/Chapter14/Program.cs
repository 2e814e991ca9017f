// fastbook chapter 14 ("ResNets") as ML.NET pipelines. Reads top to bottom like the notebook:
// get_data → show_batch → lr_find → fit_one_cycle for models A–E → comparison with the book → reload model.zip.
// Run: dotnet run -c Release --project examples/Chapter14 -- [--data synthetic|imagenette2-160|…] (see ChapterSettings).
using Chapter14;
using Microsoft.ML.Data;
using Microsoft.ML;
using ResNet.MLNet.Data;
using ResNet.MLNet.Modules;
using ResNet.MLNet.Scoring;
using ResNet.MLNet.Training;
using ResNet.MLNet.Transforms;
using ResNet.MLNet.Visualization;
using ResNet.MLNet;

ChapterSettings settings;
try
{
    settings = ChapterSettings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
Directory.CreateDirectory(settings.Output);
var clock = System.Diagnostics.Stopwatch.StartNew();
var lastEpoch = new Dictionary<string, TimeSpan>();   // each experiment's last epoch, to size a budgeted one

// path = untar_data(URLs.IMAGENETTE_160)  — or the built-in synthetic shapes, the default.
string root = await Datasets.ResolveAsync(settings.Data);
var ml = new MLContext(seed: 0);

// DataBlock(get_items=get_image_files, get_y=parent_label, splitter=GrandparentSplitter(valid_name='val'))
ImageFolder data = ml.Data.LoadImageFolder(root, validName: "val");
Console.WriteLine($"Data: {root}");
Console.WriteLine($"{data.Classes.Count} classes: {string.Join(", ", data.Classes)}");

// def get_data(url, presize, resize): item_tfms=Resize(presize), batch_tfms=[*aug_transforms(min_scale=0.5, size=resize),
//                                      Normalize.from_stats(*imagenet_stats)]
// Each image is decoded once into a store on disk that every later fit (and later run) with the same presize reuses.
var imageCache = ImageCache.OnDisk(Path.Combine(Datasets.DefaultCacheDirectory, "image-cache", Path.GetFileName(root)));
EstimatorChain<ITransformer> GetData(int presize, int size) =>
    ml.Transforms.ImageClassificationPreprocessing(new ImagePreprocessingOptions { Presize = presize, Size = size, MinScale = 0.5f, Cache = imageCache });

// The notebook's settings on real data; on the synthetic shapes (1,500 small training images) smaller images,
// smaller batches and a larger learning rate, and the costly model E gets up to 4 epochs, as many as fit in what
// is left of the time budget (--minutes), so the whole chapter runs in a few minutes on any CPU.
bool small = settings.IsSynthetic;
int presize = small ? 72 : 160, size = small ? 64 : 128;
int epochs = settings.Epochs ?? 5;
float lr = settings.MaxLearningRate ?? (small ? 1e-2f : 7e-4f);
var experiments = new[]
{
    new Experiment("A", "plain CNN", Architectures.SimpleCnn, presize, size, epochs, lr),
    new Experiment("B", "ResBlock CNN", Architectures.ResBlockCnn, presize, size, epochs, lr),
    new Experiment("C", "two ResBlocks per stage", Architectures.DeepResBlockCnn, presize, size, epochs, lr),
    new Experiment("D", "ResNet-18 style with stem", Architectures.ResNet18Chapter, presize, size, epochs, lr),
    new Experiment("E", "ResNet-50 style bottleneck", Architectures.ResNet50Chapter,
        small ? 72 : 320, small ? 64 : 224, settings.Epochs ?? (small ? 4 : 20), settings.MaxLearningRate ?? (small ? 1e-2f : 6e-4f),
        // An epoch of the ResNet-50 style costs about 3× one of D's (ResNet-18 style) at 64 px on the CPU.
        EpochCost: small && settings.Epochs is null ? ("D", 3.0) : null),
}.Where(e => settings.Experiments.Contains(e.Id)).ToArray();

// dls = get_data(URLs.IMAGENETTE_160, 160, 128); dls.show_batch(max_n=4)
var first = experiments.Length > 0 ? experiments[0] : null;
if (first is not null)
{
    var prepared = GetData(first.Presize, first.Size).Fit(data.All).Transform(data.All);   // decodes into the image cache once
    string grid = ml.Data.ShowBatch(prepared, maxN: 4, Path.Combine(settings.Output, "show_batch.png"),
        new ShowBatchOptions { NormalizedWith = ImageStats.ImageNet });
    Console.WriteLine($"show_batch: {grid}");

    // learn = get_learner(get_model()); learn.lr_find()
    if (first.Id == "A")
    {
        var lrFind = new LearningRateFinder(TrainerOptions(first)).Find(GetData(first.Presize, first.Size), data.All);
        string plot = Path.Combine(settings.Output, "lr_find.png");
        LearningRatePlot.SavePng(lrFind, plot);
        Console.WriteLine($"lr_find: valley {lrFind.Valley:0.##e+0}, minimum {lrFind.Minimum:0.##e+0}, steep {lrFind.Steep:0.##e+0} → {plot}");
    }
}

ResNetTrainer.Options TrainerOptions(Experiment e) => new()
{
    FeatureColumnName = "Pixels",
    ValidationColumnName = "IsValid",
    Architecture = e.Architecture,
    Epochs = e.Epochs,
    MaxLearningRate = e.MaxLearningRate,
    BatchSize = settings.BatchSize ?? (small ? 32 : 128),
    MixedPrecision = settings.MixedPrecision,
    Device = settings.Device,
    Seed = 0,
    MetricsCallback = m => lastEpoch[e.Id] = m.Duration,
};

// E's epochs: as many as fit in the rest of the budget (at least 1, at most the planned count).
Experiment Budgeted(Experiment e)
{
    if (e.EpochCost is not { } cost || !lastEpoch.TryGetValue(cost.Of, out TimeSpan measured))
        return e;
    TimeSpan left = settings.Budget - clock.Elapsed, epoch = measured * cost.Factor;
    int epochs = Math.Clamp((int)(left / epoch), 1, e.Epochs);
    if (epochs < e.Epochs)
        Console.WriteLine($"Time budget: {left.TotalSeconds:F0} s of {settings.Budget.TotalMinutes:0.#} min left, an epoch of ({e.Id}) " +
                          $"estimated at {epoch.TotalSeconds:F0} s → {epochs} epoch{(epochs == 1 ? "" : "s")} instead of {e.Epochs} (--minutes or --epochs to change)");
    return e with { Epochs = epochs };
}

// learn.fit_one_cycle(5, 7e-4) for each model, then evaluate, save model.zip.
var results = new List<(Experiment Experiment, double Accuracy, double LogLoss, string ModelPath)>();
foreach (var planned in experiments)
{
    var e = Budgeted(planned);
    Console.WriteLine();
    Console.WriteLine($"== ({e.Id}) {e.Title}: {e.Architecture.Name}, Resize({e.Presize}) → {e.Size} px, fit_one_cycle({e.Epochs}, {e.MaxLearningRate:G3})");
    var pipeline = GetData(e.Presize, e.Size)
        .Append(ml.MulticlassClassification.Trainers.ResNet(TrainerOptions(e)))
        .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    ITransformer model = pipeline.Fit(data.All);
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data.Valid));
    Console.WriteLine($"Evaluate: accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F3}");

    string modelPath = Path.Combine(settings.Output, $"model-{e.Id}-{e.Architecture.Name}.zip");
    ml.Model.Save(model, data.All.Schema, modelPath);
    results.Add((e, metrics.MicroAccuracy, metrics.LogLoss, modelPath));

    // Progressive resizing (fastbook ch. 7): D's weights continue at a larger size, as fastai's fine-tuning at 224 px after 128 px.
    if (e.Id == "D" && settings.Progressive)
    {
        var network = ((IEnumerable<ITransformer>)model).OfType<ResNetTransformer>().Single();
        int larger = small ? 96 : 160;
        var next = e with { Id = "D+", Title = $"D continued at {larger} px", Presize = small ? 108 : 160, Size = larger, Epochs = Math.Max(1, e.Epochs / 2) };
        Console.WriteLine();
        Console.WriteLine($"== ({next.Id}) {next.Title}: Resize({next.Presize}) → {next.Size} px, fit_one_cycle({next.Epochs}, {next.MaxLearningRate:G3}) from D's weights");
        var options = TrainerOptions(next);
        options.InitialWeights = StartingWeights.Trained(network);
        var continued = GetData(next.Presize, next.Size)
            .Append(ml.MulticlassClassification.Trainers.ResNet(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel")).Fit(data.All);
        var after = ml.MulticlassClassification.Evaluate(continued.Transform(data.Valid));
        Console.WriteLine($"Evaluate: accuracy {after.MicroAccuracy:F3} (D at {e.Size} px: {metrics.MicroAccuracy:F3}), log-loss {after.LogLoss:F3}");
        (continued as IDisposable)?.Dispose();
    }
    (model as IDisposable)?.Dispose();
}

// Our accuracies beside the book's.
Console.WriteLine();
Console.WriteLine($"{"model",-32} {"ours acc",9} {"ours loss",10}   {"book acc",9} {"book loss",10}  book setting");
foreach (var (e, accuracy, logLoss, _) in results)
{
    var book = BookResults.ByExperiment[e.Id];
    Console.WriteLine($"({e.Id}) {e.Title,-28} {accuracy,9:F3} {logLoss,10:F3}   {book.Accuracy,9:F3} {book.ValidLoss,10:F3}  {book.Setting}");
}
if (small)
    Console.WriteLine("(ours: the built-in synthetic shapes, not Imagenette — run with --data imagenette2-160 for the book's setting)");

// Reload the most accurate model.zip in a fresh context — no registration call — and predict a few validation images.
if (results.Count > 0)
{
    string modelPath = results.MaxBy(r => r.Accuracy).ModelPath;
    var reloaded = new MLContext().Model.Load(modelPath, out _);
    var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(reloaded);
    string[] classes = ImagePrediction.GetClassNames(engine.OutputSchema);
    Console.WriteLine();
    Console.WriteLine($"Predictions from the reloaded {Path.GetFileName(modelPath)}:");
    foreach (string path in Directory.EnumerateFiles(Path.Combine(root, "val"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Where((_, i) => i % 37 == 0).Take(5))
    {
        ImagePrediction p = engine.Predict(new ImageInput { ImagePath = path });
        var top = p.TopK(1, classes)[0];
        Console.WriteLine($"  {Path.GetRelativePath(root, path),-40} → {p.PredictedLabel} ({top.Probability:P1})");
    }
}
return 0;
