using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Series;

namespace ResNet.MLNet.Visualization;

/// <summary>fastai's <c>plot_confusion_matrix</c>: actual classes down, predicted classes across, counts in the cells.</summary>
internal static class ConfusionMatrixPlot
{
    /// <summary>Builds the plot model from counts indexed [actual, predicted].</summary>
    public static PlotModel Create(IReadOnlyList<IReadOnlyList<double>> counts, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(classNames);
        int n = classNames.Count;
        if (counts.Count != n || counts.Any(row => row.Count != n))
            throw new ArgumentException($"The confusion matrix must be {n}×{n} for {n} class names.", nameof(counts));

        var model = PngPlot.NewModel("Confusion matrix");
        model.Axes.Add(new CategoryAxis { Position = AxisPosition.Bottom, Title = "Predicted", ItemsSource = classNames, Angle = -45 });
        model.Axes.Add(new CategoryAxis { Position = AxisPosition.Left, Title = "Actual", ItemsSource = classNames.Reverse().ToArray() });
        model.Axes.Add(new LinearColorAxis { Position = AxisPosition.Right, Palette = OxyPalette.Interpolate(200, OxyColors.White, OxyColor.FromRgb(8, 48, 107)), Minimum = 0 });

        var data = new double[n, n];
        double max = 0;
        for (int actual = 0; actual < n; actual++)
            for (int predicted = 0; predicted < n; predicted++)
            {
                double value = counts[actual][predicted];
                data[predicted, n - 1 - actual] = value;
                max = Math.Max(max, value);
            }
        model.Series.Add(new HeatMapSeries
        {
            X0 = 0, X1 = n - 1, Y0 = 0, Y1 = n - 1, Data = data,
            CoordinateDefinition = HeatMapCoordinateDefinition.Center, Interpolate = false,
        });
        for (int actual = 0; actual < n; actual++)
            for (int predicted = 0; predicted < n; predicted++)
            {
                double value = counts[actual][predicted];
                model.Annotations.Add(new TextAnnotation
                {
                    Text = value.ToString("0"),
                    TextPosition = new DataPoint(predicted, n - 1 - actual),
                    TextHorizontalAlignment = HorizontalAlignment.Center,
                    TextVerticalAlignment = VerticalAlignment.Middle,
                    Stroke = OxyColors.Transparent,
                    TextColor = value > max / 2 ? OxyColors.White : OxyColors.Black,
                });
            }
        return model;
    }

    /// <summary>Writes the plot as a PNG file (written to a temporary file, then renamed).</summary>
    public static void SavePng(IReadOnlyList<IReadOnlyList<double>> counts, IReadOnlyList<string> classNames, string path, int size = 800)
        => PngPlot.Save(Create(counts, classNames), path, size, size);
}
