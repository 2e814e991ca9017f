using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Visualization;

/// <summary>Loss curves of a training run: smoothed train loss and validation loss per epoch, accuracy on a second axis.</summary>
public static class TrainingHistoryPlot
{
    /// <summary>Builds the plot model (for custom rendering).</summary>
    public static PlotModel Create(IReadOnlyList<EpochMetrics> history, string title = "Training history")
    {
        ArgumentNullException.ThrowIfNull(history);
        var model = PngPlot.NewModel(title);
        // Epochs are integers: no tick falls between two of them.
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom, Title = "epoch", MajorGridlineStyle = LineStyle.Dot, MinimumMajorStep = 1, MinimumMinorStep = 1, StringFormat = "0",
        });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "loss", MajorGridlineStyle = LineStyle.Dot, Key = "loss" });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Right, Title = EpochMetrics.AccuracyColumn, Minimum = 0, Maximum = 1, Key = "accuracy" });
        var train = new LineSeries { Title = EpochMetrics.TrainLossColumn, YAxisKey = "loss", MarkerType = MarkerType.Circle, Color = OxyColor.FromRgb(31, 119, 180) };
        var valid = new LineSeries { Title = EpochMetrics.ValidLossColumn, YAxisKey = "loss", MarkerType = MarkerType.Circle, Color = OxyColor.FromRgb(255, 127, 14) };
        var accuracy = new LineSeries { Title = EpochMetrics.AccuracyColumn, YAxisKey = "accuracy", MarkerType = MarkerType.Square, LineStyle = LineStyle.Dash, Color = OxyColor.FromRgb(44, 160, 44) };
        foreach (var epoch in history)
        {
            train.Points.Add(new DataPoint(epoch.Epoch, epoch.TrainLoss));
            if (epoch.ValidLoss is double v) valid.Points.Add(new DataPoint(epoch.Epoch, v));
            if (epoch.Accuracy is double a) accuracy.Points.Add(new DataPoint(epoch.Epoch, a));
        }
        model.Series.Add(train);
        if (valid.Points.Count > 0) model.Series.Add(valid);
        if (accuracy.Points.Count > 0) model.Series.Add(accuracy);
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.TopRight, LegendBackground = OxyColor.FromAColor(200, OxyColors.White) });
        return model;
    }

    /// <summary>Writes the plot as a PNG file (written to a temporary file, then renamed).</summary>
    public static void SavePng(IReadOnlyList<EpochMetrics> history, string path, string title = "Training history", int width = 800, int height = 500)
        => PngPlot.Save(Create(history, title), path, width, height);
}
