using AspireChat.Bench.Reporting;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the group fan-out workload.</summary>
/// <param name="Peers">The peers run beside AspireChat: the SignalR ones (the raw relay relays one-to-one only).</param>
public sealed record GroupOptions(IReadOnlyList<int> Sizes, int Senders, double? Rate, int Window, bool Poisson, PhaseTimings Timings, IReadOnlyList<SystemKind> Peers);

/// <summary>
/// Group fan-out: every member online, a few members sending to the group. With the default
/// <c>Groups:WriteDiffusionLimit</c> of 500, a 100-member group is write diffusion (an inbox copy, with seq, per
/// member) and a 2,000-member group read diffusion (one live notice per gateway, messages without seq).
/// </summary>
public static class GroupWorkload
{
    public static async Task<BenchResult> RunAsync(BenchContext context, GroupOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("group");
        SystemKind[] systems = [SystemKind.AspireChat, .. options.Peers.Where(p => p != SystemKind.AspireChat).Distinct()];
        var pacing = new Pacing(options.Rate, options.Window, options.Poisson);
        foreach (var size in options.Sizes)
        {
            foreach (var kind in systems)
            {
                var phase = await MessagePhase.GroupAsync(context, kind, $"g{size}", size, Math.Min(options.Senders, size), pacing, options.Timings, cancellationToken)
                    .ConfigureAwait(false);
                if (kind == SystemKind.AspireChat) phase.Notes.Add(size > 500 ? "read diffusion (above the default Groups:WriteDiffusionLimit 500)" : "write diffusion");
                result.Phases.Add(phase);
            }
            var ours = result.Phases.First(p => p.Phase == $"g{size}" && p.System == "AspireChat");
            foreach (var peer in result.Phases.Where(p => p.Phase == $"g{size}" && p.System != "AspireChat"))
            {
                result.Comparisons.Add(new($"{size}-member group: deliveries/s", "deliveries/s", ours.DeliveredPerSecond, peer.DeliveredPerSecond,
                    ours.DeliveredPerSecond / Math.Max(1e-9, peer.DeliveredPerSecond), peer.System));
                result.Comparisons.Add(new($"{size}-member group: p99 send→deliver", "ms", ours.SendToDeliver?.P99Ms ?? 0, peer.SendToDeliver?.P99Ms ?? 0,
                    (ours.SendToDeliver?.P99Ms ?? 0) / Math.Max(0.001, peer.SendToDeliver?.P99Ms ?? 0), peer.System));
            }
        }
        return result;
    }
}
