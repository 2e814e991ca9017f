using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Visualization;

/// <summary>fastai's <c>lr_find</c> plot: smoothed loss against learning rate on a log axis, with the suggestion marked.</summary>
public static class LearningRatePlot
{
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
        for (int i = 0; i < result.LearningRates.Count; i++)
            if (double.IsFinite(result.Losses[i]))
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
