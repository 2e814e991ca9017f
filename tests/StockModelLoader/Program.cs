// Loads a model.zip with stock ML.NET only and classifies images with a PredictionEngine.
// Usage: StockModelLoader <model.zip> <image path>...
// Prints "classes<TAB>name,name,..." then one line per image: "<path><TAB><predicted label><TAB><p0,p1,...>".
// Exit codes: 0 ok, 2 usage, 3 if ResNet.MLNet got loaded (it must not be), 4 load or prediction error.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: StockModelLoader <model.zip> <image path>...");
    return 2;
}

try
{
    var ml = new MLContext();
    var model = ml.Model.Load(args[0], out _);
    var engine = ml.Model.CreatePredictionEngine<Input, Output>(model);
    VBuffer<ReadOnlyMemory<char>> names = default;
    engine.OutputSchema["Score"].GetSlotNames(ref names);
    Console.WriteLine("classes\t" + string.Join(",", names.DenseValues()));
    foreach (var path in args.Skip(1))
    {
        var p = engine.Predict(new Input { ImagePath = path });
        Console.WriteLine($"{path}\t{p.PredictedLabel}\t{string.Join(",", p.Score.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))}");
    }
}
catch (Exception e)
{
    Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 4;
}

var ours = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "ResNet.MLNet");
if (ours is not null)
{
    Console.Error.WriteLine($"ResNet.MLNet was loaded from {ours.Location}");
    return 3;
}
return 0;

internal sealed class Input
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

internal sealed class Output
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}
