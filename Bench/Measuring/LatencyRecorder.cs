using System.Diagnostics;
using System.Text.Json.Serialization;
using HdrHistogram;

namespace AspireChat.Bench.Measuring;

/// <summary>A thread-safe HdrHistogram of latencies in microseconds, from 1 µs to 5 minutes at 3 significant digits.</summary>
public sealed class LatencyRecorder
{
    private const long HighestMicros = 5L * 60 * 1_000_000;
    private readonly LongConcurrentHistogram _histogram = new(1, HighestMicros, 3);

    /// <summary>Records the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to <paramref name="endTimestamp"/>.</summary>
    public void Record(long startTimestamp, long endTimestamp)
    {
        var micros = (endTimestamp - startTimestamp) * 1_000_000 / Stopwatch.Frequency;
        _histogram.RecordValue(Math.Clamp(micros, 1, HighestMicros));
    }

    public long Count => _histogram.TotalCount;

    /// <summary>The value at <paramref name="percentile"/> (0–100) in milliseconds; 0 when nothing was recorded.</summary>
    public double PercentileMs(double percentile) => Count == 0 ? 0 : _histogram.GetValueAtPercentile(percentile) / 1000.0;

    public LatencySummary Summarize() => new()
    {
        Count = Count,
        P50Ms = PercentileMs(50),
        P90Ms = PercentileMs(90),
        P99Ms = PercentileMs(99),
        P999Ms = PercentileMs(99.9),
        MaxMs = Count == 0 ? 0 : _histogram.GetMaxValue() / 1000.0,
        MeanMs = Count == 0 ? 0 : _histogram.GetMean() / 1000.0,
        Percentiles = Count == 0 ? [] : PlotPoints(),
    };

    // The percentile curve for a plot: 0 … 99.999 on a log scale of (1 − p).
    private List<PercentilePoint> PlotPoints()
    {
        var points = new List<PercentilePoint>();
        foreach (var nines in new[] { 0.0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5 })
        {
            var percentile = 100 * (1 - Math.Pow(10, -nines));
            points.Add(new PercentilePoint(percentile, _histogram.GetValueAtPercentile(percentile) / 1000.0));
        }
        return points;
    }
}

/// <summary>Percentiles of one latency, in milliseconds.</summary>
public sealed record LatencySummary
{
    public long Count { get; init; }
    public double P50Ms { get; init; }
    public double P90Ms { get; init; }
    public double P99Ms { get; init; }
    public double P999Ms { get; init; }
    public double MaxMs { get; init; }
    public double MeanMs { get; init; }
    [JsonPropertyName("percentiles")] public IReadOnlyList<PercentilePoint> Percentiles { get; init; } = [];
}

/// <summary>One point of a percentile curve.</summary>
public sealed record PercentilePoint(double Percentile, double Ms);
