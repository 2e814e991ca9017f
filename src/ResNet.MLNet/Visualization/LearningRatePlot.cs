using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Visualization;

/// <summary>
/// fastai's <c>lr_find</c> plot: smoothed loss against learning rate on a log axis, with the suggestion marked. Like
/// fastai's <c>plot_lr_find</c> it leaves out the last points (<see cref="SkippedEndPoints"/>) and stops where the loss
/// diverges (above 4× its lowest so far), so the loss axis spans the useful part of the curve, not the explosion.
/// </summary>
public static class LearningRatePlot
{
    /// <summary>Points left out at the end (fastai's <c>skip_end</c>).</summary>
    public const int SkippedEndPoints = 5;

    /// <summary>How far above its lowest value so far the loss may rise before the curve stops (fastai's <c>stop_div</c>).</summary>
    public const double DivergenceFactor = 4;

    /// <summary>The number of leading points the plot draws: before the last <see cref="SkippedEndPoints"/> and before divergence.</summary>
    public static int PlottedPoints(LearningRateFinderResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        int end = Math.Max(1, result.Losses.Count - SkippedEndPoints);
        double lowest = double.PositiveInfinity;
        for (int i = 0; i < end; i++)
        {
            double loss = result.Losses[i];
            if (!double.IsFinite(loss) || loss > DivergenceFactor * lowest) return Math.Max(1, i);
            lowest = Math.Min(lowest, loss);
        }
        return end;
    }

    /// <summary>Builds the plot model (for custom rendering).</summary>
    public static PlotModel Create(LearningRateFinderResult result, LearningRateSuggestion suggestion = LearningRateSuggestion.Valley)
    {
        ArgumentNullException.ThrowIfNull(result);
        var model = PngPlot.NewModel("Learning rate finder");
        model.Axes.Add(new LogarithmicAxis
        {
            Position = AxisPosition.Bottom, Title = "Learning Rate", MajorGridlineStyle = LineStyle.Dot, StringFormat = "0.##E+0",
        });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "Loss", MajorGridlineStyle = LineStyle.Dot });
        var curve = new LineSeries { Title = "smoothed loss", Color = OxyColor.FromRgb(31, 119, 180), StrokeThickness = 2 };
        int points = PlottedPoints(result);
        for (int i = 0; i < points; i++)
            curve.Points.Add(new DataPoint(result.LearningRates[i], result.Losses[i]));
        model.Series.Add(curve);
        var (lr, loss) = result.SuggestionPoint(suggestion);
        var mark = new ScatterSeries
        {
            Title = $"{suggestion.ToString().ToLowerInvariant()}: {result.Suggestion(suggestion):0.###e+0}",
            MarkerType = MarkerType.Circle, MarkerSize = 7, MarkerFill = OxyColors.OrangeRed,
        };
        mark.Points.Add(new ScatterPoint(lr, loss));
        model.Series.Add(mark);
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.TopLeft, LegendBackground = OxyColor.FromAColor(200, OxyColors.White) });
        return model;
    }

    /// <summary>Writes the plot as a PNG file (written to a temporary file, then renamed).</summary>
    public static void SavePng(LearningRateFinderResult result, string path, LearningRateSuggestion suggestion = LearningRateSuggestion.Valley,
        int width = 800, int height = 500)
        => PngPlot.Save(Create(result, suggestion), path, width, height);
}
