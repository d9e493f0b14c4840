using AspireChat.Bench.Reporting;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the one-to-one workload.</summary>
/// <param name="Rate">Messages per second over all pairs; null with <paramref name="Auto"/> false = closed loop only.</param>
/// <param name="Auto">Two steps: the maximum (closed loop), then an open loop at half of AspireChat's maximum.</param>
public sealed record OneToOneOptions(int Pairs, double? Rate, bool Auto, int Window, bool Poisson, PhaseTimings Timings, bool WithPeer);

/// <summary>
/// One-to-one pairs: sender <c>a{i}</c> sends to <c>b{i}</c>. AspireChat and the SignalR relay run the same steps
/// one after the other on the same machine; the report gives AspireChat ÷ relay for throughput (at the maximum)
/// and for p99 send→deliver (at half of AspireChat's maximum, both at the same offered rate).
/// </summary>
public static class OneToOneWorkload
{
    public static async Task<BenchResult> RunAsync(BenchContext context, OneToOneOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("one-to-one");
        var systems = options.WithPeer ? new[] { SystemKind.AspireChat, SystemKind.SignalRRelay } : [SystemKind.AspireChat];

        if (options.Auto)
        {
            var max = new Pacing(null, options.Window, false);
            foreach (var kind in systems)
                result.Phases.Add(await MessagePhase.PairsAsync(context, kind, "max", options.Pairs, max, options.Timings, cancellationToken).ConfigureAwait(false));
            var half = Math.Max(1, result.Phases[0].DeliveredPerSecond / 2);
            var open = new Pacing(half, options.Window, options.Poisson);
            context.View.Say($"half of AspireChat's maximum: {half:N0} msg/s");
            foreach (var kind in systems)
                result.Phases.Add(await MessagePhase.PairsAsync(context, kind, "half", options.Pairs, open, options.Timings, cancellationToken).ConfigureAwait(false));
        }
        else
        {
            var pacing = new Pacing(options.Rate, options.Window, options.Poisson);
            var phase = options.Rate is null ? "max" : "rate";
            foreach (var kind in systems)
                result.Phases.Add(await MessagePhase.PairsAsync(context, kind, phase, options.Pairs, pacing, options.Timings, cancellationToken).ConfigureAwait(false));
        }

        Compare(context, result);
        return result;
    }

    private static void Compare(BenchContext context, BenchResult result)
    {
        foreach (var phase in result.Phases.Where(p => p.System == "AspireChat"))
        {
            var peer = result.Phases.FirstOrDefault(p => p.System != "AspireChat" && p.Phase == phase.Phase);
            if (phase.Phase == "max")
            {
                if (peer is not null)
                {
                    var ratio = phase.DeliveredPerSecond / peer.DeliveredPerSecond;
                    result.Comparisons.Add(new("delivered msg/s at the maximum", "msg/s", phase.DeliveredPerSecond, peer.DeliveredPerSecond, ratio));
                    result.Targets.Add(new("one-to-one throughput vs a bare SignalR relay", "≥ 1.0×", $"{ratio:N2}×", ratio >= 1.0));
                }
            }
            else
            {
                var p99 = phase.SendToDeliver?.P99Ms ?? 0;
                if (peer is not null)
                    result.Comparisons.Add(new($"p99 send→deliver at {phase.Pacing}", "ms", p99, peer.SendToDeliver?.P99Ms ?? 0, p99 / Math.Max(0.001, peer.SendToDeliver?.P99Ms ?? 0)));
                if (phase.Phase == "half" && context.Target.InProcess)
                    result.Targets.Add(new("p99 send→deliver at half of the maximum, embedded", "≤ 10 ms", $"{p99:N2} ms", p99 <= 10));
            }
        }
    }
}
