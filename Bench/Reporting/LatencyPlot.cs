using AspireChat.Bench.Measuring;

namespace AspireChat.Bench.Reporting;

/// <summary>
/// The latency-percentile plot of a run (ScottPlot): send→deliver of every message phase, percentiles on a
/// "nines" axis (0 %, 90 %, 99 % … 99.999 %), milliseconds on a log scale, so a relay at 0.5 ms and a queue at
/// 500 ms fit one picture.
/// </summary>
public static class LatencyPlot
{
    /// <summary>Writes <c>{directory}/{time}-{workload}-latency.png</c>; null when the run has no latencies.</summary>
    public static string? Write(BenchResult result, string directory)
    {
        var curves = result.Phases.Where(p => p.SendToDeliver is { Count: > 0 }).ToList();
        if (curves.Count == 0) return null;
        var plot = new ScottPlot.Plot();
        foreach (var phase in curves)
        {
            var points = phase.SendToDeliver!.Percentiles;
            var nines = points.Select(p => Nines(p.Percentile)).ToArray();
            var ms = points.Select(p => Math.Log10(Math.Max(0.01, p.Ms))).ToArray();
            plot.Add.Scatter(nines, ms).LegendText = $"{phase.System} · {phase.Phase} ({phase.Pacing})";
        }
        plot.Title($"{result.Workload}: send→deliver latency by percentile · {result.Target}");
        plot.Axes.Bottom.Label.Text = "percentile";
        plot.Axes.Left.Label.Text = "milliseconds (log scale)";
        plot.Axes.Bottom.SetTicks([0, 1, 2, 3, 4, 5], ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        double[] decades = [-2, -1, 0, 1, 2, 3, 4, 5];
        plot.Axes.Left.SetTicks(decades, [.. decades.Select(d => Math.Pow(10, d).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture))]);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{result.StartedUtc:yyyyMMdd-HHmmss}-{result.Workload}-latency.png");
        plot.SavePng(path, 1000, 600);
        return path;
    }

    private static double Nines(double percentile) => percentile >= 100 ? 5 : Math.Min(5, -Math.Log10(1 - percentile / 100));
}
