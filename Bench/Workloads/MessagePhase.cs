using System.Diagnostics;
using AspireChat.Bench.Checking;
using AspireChat.Bench.Peers;
using AspireChat.Bench.Reporting;
using AspireChat.Protocol;

namespace AspireChat.Bench.Workloads;

/// <summary>Which system a phase loads: AspireChat, or one of the peers Bench hosts beside it.</summary>
public enum SystemKind { AspireChat, SignalRRelay, RawRelay, PersistingHub }

/// <summary>Timings every message phase shares.</summary>
public sealed record PhaseTimings(TimeSpan Warmup, TimeSpan Duration, TimeSpan DrainTimeout);

/// <summary>
/// One phase of a message workload: fresh users on a fresh checker, connect, drive (<see cref="MessageLoad"/>),
/// drain, close, check. Pairs (one-to-one) or one group (fan-out).
/// </summary>
public static class MessagePhase
{
    /// <summary><paramref name="pairs"/> senders each sending to their own recipient.</summary>
    public static Task<PhaseResult> PairsAsync(BenchContext context, SystemKind kind, string phase, int pairs, Pacing pacing, PhaseTimings timings,
        CancellationToken cancellationToken)
    {
        var prefix = $"{context.RunId}-{Short(kind)}-{phase}";
        var users = Enumerable.Range(0, pairs).SelectMany(i => new[] { $"{prefix}-a{i}", $"{prefix}-b{i}" }).ToList();
        return RunAsync(context, kind, phase, users, createGroup: false, pacing, timings, (system, clients, _) =>
        {
            var device = system.Device;
            var senders = new List<LoadSender>();
            for (var i = 0; i < pairs; i++)
            {
                var (sender, recipient) = (clients[2 * i], clients[2 * i + 1]);
                List<DeviceKey> expected = [new(recipient.User, device)];
                if (system.EchoesToSender) expected.Add(new(sender.User, device));
                senders.Add(new LoadSender(sender, Ope.OneToOne, recipient.User, expected, 1));
            }
            return (senders, [.. Enumerable.Range(0, pairs).Select(i => 2 * i)]);
        }, cancellationToken);
    }

    /// <summary>One group of <paramref name="members"/> (write or read diffusion by size); the first <paramref name="senderCount"/> members send to it.</summary>
    public static Task<PhaseResult> GroupAsync(BenchContext context, SystemKind kind, string phase, int members, int senderCount, Pacing pacing,
        PhaseTimings timings, CancellationToken cancellationToken)
    {
        var prefix = $"{context.RunId}-{Short(kind)}-{phase}";
        var users = Enumerable.Range(0, members).Select(i => $"{prefix}-m{i}").ToList();
        return RunAsync(context, kind, phase, users, createGroup: true, pacing, timings, (system, clients, gid) =>
        {
            var device = system.Device;
            var everyone = clients.Select(c => new DeviceKey(c.User, device)).ToArray();
            var senders = Enumerable.Range(0, senderCount).Select(i => new LoadSender(clients[i], Ope.Group, gid!, everyone, members - 1)).ToList();
            return (senders, [.. Enumerable.Range(0, senderCount)]);
        }, cancellationToken);
    }

    private static async Task<PhaseResult> RunAsync(BenchContext context, SystemKind kind, string phase, List<string> users, bool createGroup,
        Pacing pacing, PhaseTimings timings, Func<ILoadSystem, IReadOnlyList<ILoadClient>, string?, (List<LoadSender>, List<int>)> plan,
        CancellationToken cancellationToken)
    {
        var checker = new DeliveryChecker();
        await using var system = await CreateAsync(context, kind, checker, cancellationToken).ConfigureAwait(false);
        var gid = createGroup ? await system.CreateGroupAsync(users, cancellationToken).ConfigureAwait(false) : null;

        var sink = new SinkProxy();
        var connected = 0;
        var connecting = system.ConnectAsync(users, sink, new Progress<int>(n => Volatile.Write(ref connected, n)), cancellationToken);
        await context.View.WatchAsync($"{system.Name} · {phase} · connecting",
            () => [("connected", $"{Volatile.Read(ref connected):N0} / {users.Count:N0}")], connecting).ConfigureAwait(false);
        var clients = await connecting.ConfigureAwait(false);

        var (senders, senderIndexes) = plan(system, clients, gid);
        var serverProcess = kind == SystemKind.AspireChat && context.Target is Targets.GatewayProcessTarget process ? process.ProcessId : (int?)null;
        var load = new MessageLoad(senders, senderIndexes, system, checker, pacing, new Measuring.ResourceProbe(serverProcess));
        sink.Target = load;
        var started = Stopwatch.GetTimestamp();
        var run = load.RunAsync(timings.Warmup, timings.Duration, timings.DrainTimeout, cancellationToken);
        var rate = new RateMeter();
        await context.View.WatchAsync($"{system.Name} · {phase} · {pacing.Describe()}", () =>
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            var stage = elapsed < timings.Warmup ? "warm-up" : elapsed < timings.Warmup + timings.Duration ? "measuring" : "draining";
            return
            [
                ("stage", $"{stage} {elapsed.TotalSeconds:N0} s"),
                ("sent", $"{load.Sent:N0}"),
                ("acked", system.Acknowledges ? $"{load.AckedCount:N0}" : "n/a (no acks)"),
                ("delivered", $"{load.DeliveredCount:N0}"),
                ("delivered/s", $"{rate.PerSecond(load.DeliveredCount):N0}"),
                ("p99 send→deliver (measured so far)", $"{load.SendToDeliver.PercentileMs(99):N2} ms"),
                ("failed sends", $"{load.FailedCount:N0}"),
                ("disconnects", $"{load.Disconnects:N0}"),
                ("violations so far", $"{checker.LiveViolations:N0}"),
            ];
        }, run).ConfigureAwait(false);
        var window = await run.ConfigureAwait(false);

        await Task.WhenAll(clients.Select(c => c.CloseAsync())).ConfigureAwait(false);
        var report = checker.Finish();
        var notes = new List<string>();
        if (!window.Drained) notes.Add($"not drained within {timings.DrainTimeout.TotalSeconds:N0} s: the checker reports what never arrived");
        if (load.Disconnects > 0) notes.Add($"{load.Disconnects} client connection(s) dropped during the run; first: {load.FirstDisconnect?.Message}");
        return new PhaseResult
        {
            System = system.Name,
            Phase = phase,
            Pacing = pacing.Describe(),
            Clients = users.Count,
            Seconds = window.Seconds,
            Sent = load.Sent,
            Acked = system.Acknowledges ? load.AckedCount : 0,
            Failed = load.FailedCount,
            Delivered = window.Delivered,
            DeliveredPerSecond = window.DeliveredPerSecond,
            CompletedPerSecond = window.CompletedPerSecond,
            AckedPerSecond = system.Acknowledges ? window.AckedPerSecond : 0,
            SendToAck = system.Acknowledges ? load.SendToAck.Summarize() : null,
            SendToDeliver = load.SendToDeliver.Summarize(),
            SendToLastRecipient = createGroup ? load.SendToLastRecipient.Summarize() : null,
            Check = CheckSummary.From(report),
            Figures = window.Resources,
            Notes = notes,
        };
    }

    private static async Task<ILoadSystem> CreateAsync(BenchContext context, SystemKind kind, DeliveryChecker checker, CancellationToken cancellationToken) =>
        kind switch
        {
            SystemKind.AspireChat => new AspireChatSystem(context.Target, checker, context.Sources, context.Padding, context.MarkRead),
            SystemKind.SignalRRelay => SignalRHubSystem.Relay(await context.PeerAsync(SignalRRelay.StartAsync, cancellationToken).ConfigureAwait(false),
                checker, context.Padding),
            SystemKind.RawRelay => new RawWebSocketRelaySystem(await context.PeerAsync(RawWebSocketRelay.StartAsync, cancellationToken).ConfigureAwait(false),
                checker, context.Sources, context.Padding),
            SystemKind.PersistingHub => SignalRHubSystem.Persisting(
                await context.PeerAsync(ct => PersistingSignalRHub.StartAsync(context.HubSynchronous, ct), cancellationToken).ConfigureAwait(false), checker, context.Padding),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };

    private static string Short(SystemKind kind) => kind switch
    {
        SystemKind.AspireChat => "ac",
        SystemKind.SignalRRelay => "sr",
        SystemKind.RawRelay => "raw",
        _ => "hub",
    };

    /// <summary>Passes client events to the load once it exists (events during connect have no load to count them).</summary>
    private sealed class SinkProxy : ILoadSink
    {
        public volatile MessageLoad? Target;
        public void Acked(int client, long req) => Target?.Acked(client, req);
        public void Failed(int client, long req, string code) => Target?.Failed(client, req, code);
        public void Delivered(int sender, long req, int recipient) => Target?.Delivered(sender, req, recipient);
        public void HeldOwnCopy(int client, long req) => Target?.HeldOwnCopy(client, req);
        public void Disconnected(int client, Exception? error) => Target?.Disconnected(client, error);
    }
}

/// <summary>A rate from successive readings of a counter (for the live view).</summary>
internal sealed class RateMeter
{
    private long _last;
    private long _lastAt = Stopwatch.GetTimestamp();
    private double _rate;

    public double PerSecond(long count)
    {
        var now = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(_lastAt, now).TotalSeconds;
        if (elapsed < 0.2) return _rate;
        _rate = (count - _last) / elapsed;
        (_last, _lastAt) = (count, now);
        return _rate;
    }
}
