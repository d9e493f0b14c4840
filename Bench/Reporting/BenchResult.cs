using AspireChat.Bench.Checking;
using AspireChat.Bench.Measuring;

namespace AspireChat.Bench.Reporting;

/// <summary>Everything one Bench run measured: the JSON result file, and the source of the console and markdown reports.</summary>
public sealed record BenchResult
{
    public required string Workload { get; init; }
    public required string Command { get; init; }
    public required string Target { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public required MachineInfo Machine { get; init; }
    public List<PhaseResult> Phases { get; init; } = [];
    /// <summary>AspireChat against each peer, and against the docs/benchmarks.md targets.</summary>
    public List<Comparison> Comparisons { get; init; } = [];
    public List<TargetCheck> Targets { get; init; } = [];
    public List<string> Notes { get; init; } = [];
    /// <summary>Every phase's checker passed and nothing failed.</summary>
    public bool Passed => Phases.All(p => p.Check is null || p.Check.Passed) && Errors.Count == 0;
    /// <summary>What went wrong outside the checker (a server that exited, connections that dropped).</summary>
    public List<string> Errors { get; init; } = [];
}

/// <summary>One system under one load shape.</summary>
public sealed record PhaseResult
{
    public required string System { get; init; }
    public required string Phase { get; init; }
    public string? Pacing { get; init; }
    public int Clients { get; init; }
    public double Seconds { get; init; }
    public long Sent { get; init; }
    public long Acked { get; init; }
    public long Failed { get; init; }
    /// <summary>Deliveries to recipients other than the sender, in the measured window.</summary>
    public long Delivered { get; init; }
    public double DeliveredPerSecond { get; init; }
    /// <summary>Messages every recipient had, per second (fan-out).</summary>
    public double CompletedPerSecond { get; init; }
    public double AckedPerSecond { get; init; }
    public LatencySummary? SendToAck { get; init; }
    public LatencySummary? SendToDeliver { get; init; }
    public LatencySummary? SendToLastRecipient { get; init; }
    public CheckSummary? Check { get; init; }
    /// <summary>Workload-specific figures (connections held, KiB per connection, seconds to catch up, ids/s …).</summary>
    public Dictionary<string, double> Figures { get; init; } = [];
    public List<string> Notes { get; init; } = [];
}

/// <summary>The checker's verdict, with the first violations spelled out.</summary>
public sealed record CheckSummary
{
    public bool Passed { get; init; }
    public int Violations { get; init; }
    public Dictionary<string, int> ByKind { get; init; } = [];
    public List<string> First { get; init; } = [];
    public required CheckCounts Counts { get; init; }

    public static CheckSummary From(CheckReport report, int keep = 20) => new()
    {
        Passed = report.Passed,
        Violations = report.Violations.Count,
        ByKind = report.ByKind.ToDictionary(p => p.Key.ToString(), p => p.Value),
        // The first few of each kind: a thousand losses should not hide the one reordering.
        First = [.. report.Violations.GroupBy(v => v.Kind).SelectMany(g => g.Take(Math.Max(3, keep / Math.Max(1, report.ByKind.Count)))).Take(keep).Select(v => v.ToString())],
        Counts = report.Counts,
    };
}

/// <summary>AspireChat ÷ peer for one measure; <paramref name="PeerName"/> says which peer (<c>SignalR relay</c>, <c>raw WebSocket relay</c> …).</summary>
public sealed record Comparison(string Measure, string Unit, double AspireChat, double Peer, double Ratio, string PeerName);

/// <summary>A docs/benchmarks.md target and whether this run met it.</summary>
public sealed record TargetCheck(string Measure, string Target, string Measured, bool Met);
