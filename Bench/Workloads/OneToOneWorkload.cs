using AspireChat.Bench.Reporting;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the one-to-one workload.</summary>
/// <param name="Rate">Messages per second over all pairs; null with <paramref name="Auto"/> false = closed loop only.</param>
/// <param name="Auto">Two steps: the maximum (closed loop), then an open loop at half of AspireChat's maximum.</param>
/// <param name="Peers">The peers run beside AspireChat, in this order after it.</param>
public sealed record OneToOneOptions(int Pairs, double? Rate, bool Auto, int Window, bool Poisson, PhaseTimings Timings, IReadOnlyList<SystemKind> Peers)
{
    /// <summary>The share of sends that are message operations (AspireChat only: the peers have none, and send messages instead).</summary>
    public double Operations { get; init; }
}

/// <summary>
/// One-to-one pairs: sender <c>a{i}</c> sends to <c>b{i}</c>. AspireChat and each peer run the same steps one after
/// the other on the same machine; the report gives AspireChat ÷ each peer for throughput (at the maximum) and for
/// p99 send→deliver (at half of AspireChat's maximum, all at the same offered rate).
/// </summary>
public static class OneToOneWorkload
{
    /// <summary>docs/benchmarks.md: one-to-one throughput AspireChat must reach, as a multiple of each peer's.</summary>
    private static readonly Dictionary<SystemKind, (double Ratio, string Target)> ThroughputTargets = new()
    {
        [SystemKind.SignalRRelay] = (0.5, "≥ 0.5×"),
        [SystemKind.RawRelay] = (0.5, "≥ 0.5×"),
        [SystemKind.PersistingHub] = (5, "≥ 5×"),
    };

    public static async Task<BenchResult> RunAsync(BenchContext context, OneToOneOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("one-to-one");
        SystemKind[] systems = [SystemKind.AspireChat, .. options.Peers.Where(p => p != SystemKind.AspireChat).Distinct()];
        var phases = new List<(SystemKind Kind, PhaseResult Phase)>();

        async Task RunPhaseAsync(SystemKind kind, string phase, Pacing pacing)
        {
            // Only AspireChat has message operations: a peer sends messages only.
            if (kind != SystemKind.AspireChat) pacing = pacing with { Operations = 0 };
            var run = await MessagePhase.PairsAsync(context, kind, phase, options.Pairs, pacing, options.Timings, cancellationToken).ConfigureAwait(false);
            result.Phases.Add(run);
            phases.Add((kind, run));
        }

        if (options.Auto)
        {
            var max = new Pacing(null, options.Window, false) { Operations = options.Operations };
            foreach (var kind in systems) await RunPhaseAsync(kind, "max", max).ConfigureAwait(false);
            var half = Math.Max(1, result.Phases[0].DeliveredPerSecond / 2);
            var open = new Pacing(half, options.Window, options.Poisson) { Operations = options.Operations };
            context.View.Say($"half of AspireChat's maximum: {half:N0} msg/s");
            foreach (var kind in systems)
            {
                var peerMax = phases.First(p => p.Kind == kind && p.Phase.Phase == "max").Phase;
                if (kind != SystemKind.AspireChat && peerMax.DeliveredPerSecond < half)
                {
                    // Offered more than it can carry, its latency would only measure a queue growing for the whole phase.
                    result.Notes.Add($"{peerMax.System} · half: not run — its maximum ({peerMax.DeliveredPerSecond:N0} msg/s) is below the offered {half:N0} msg/s");
                    continue;
                }
                await RunPhaseAsync(kind, "half", open).ConfigureAwait(false);
            }
        }
        else
        {
            var pacing = new Pacing(options.Rate, options.Window, options.Poisson) { Operations = options.Operations };
            var phase = options.Rate is null ? "max" : "rate";
            foreach (var kind in systems) await RunPhaseAsync(kind, phase, pacing).ConfigureAwait(false);
        }

        if (systems.Contains(SystemKind.PersistingHub))
        {
            var hub = await context.PeerAsync(ct => Peers.PersistingSignalRHub.StartAsync(context.HubSynchronous, ct), cancellationToken).ConfigureAwait(false);
            result.Notes.Add($"persisting SignalR hub: EF Core on SQLite, one SaveChangesAsync per message, {hub.Durability}");
        }
        Compare(context, result, phases);
        return result;
    }

    private static void Compare(BenchContext context, BenchResult result, List<(SystemKind Kind, PhaseResult Phase)> phases)
    {
        foreach (var (_, ours) in phases.Where(p => p.Kind == SystemKind.AspireChat))
        {
            var p99 = ours.SendToDeliver?.P99Ms ?? 0;
            foreach (var (kind, peer) in phases.Where(p => p.Kind != SystemKind.AspireChat && p.Phase.Phase == ours.Phase))
            {
                if (ours.Phase == "max")
                {
                    var ratio = ours.DeliveredPerSecond / Math.Max(1e-9, peer.DeliveredPerSecond);
                    result.Comparisons.Add(new("delivered msg/s at the maximum", "msg/s", ours.DeliveredPerSecond, peer.DeliveredPerSecond, ratio, peer.System));
                    var (target, shown) = ThroughputTargets[kind];
                    result.Targets.Add(new($"one-to-one throughput vs the {peer.System}", shown, $"{ratio:N2}×", ratio >= target));
                }
                else
                {
                    var theirs = peer.SendToDeliver?.P99Ms ?? 0;
                    result.Comparisons.Add(new($"p99 send→deliver at {ours.Pacing}", "ms", p99, theirs, p99 / Math.Max(0.001, theirs), peer.System));
                }
            }
            if (ours.Phase == "half" && context.Target.InProcess)
                result.Targets.Add(new("p99 send→deliver at half of the maximum, embedded", "≤ 10 ms", $"{p99:N2} ms", p99 <= 10));
        }
    }
}
