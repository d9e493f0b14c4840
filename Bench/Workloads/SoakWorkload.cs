using System.Diagnostics;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Targets;
using AspireChat.Bench.Transport;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the connection soak.</summary>
public sealed record SoakOptions(int Connections, TimeSpan Hold, int ConnectParallelism, TimeSpan Settle);

/// <summary>
/// Connection soak: N idle authenticated connections (each its own user, welcomed) held for T, spread over the
/// loopback source addresses. Server memory per connection = (server memory with N open − before) ÷ N; with the
/// gateway process target that is the Gateway's own resident set, without the clients.
/// </summary>
public static class SoakWorkload
{
    private const long TargetConnections = 200_000;
    private const double TargetKibPerConnection = 10;

    public static async Task<BenchResult> RunAsync(BenchContext context, SoakOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("soak");
        var target = context.Target;
        var requested = options.Connections;
        var connections = Cap(context, requested, result.Notes);

        // Open and close a few first, so JIT and pools are warm before the baseline is read.
        var warm = await OpenAsync(context, $"{context.RunId}-warm", Math.Min(50, connections), options.ConnectParallelism, null, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(warm.Sockets.Select(s => s.CloseAsync())).ConfigureAwait(false);
        await Task.Delay(options.Settle, cancellationToken).ConfigureAwait(false);
        var before = target.ReadMemory(collectFirst: true);

        var progress = new SoakProgress();
        var opening = OpenAsync(context, $"{context.RunId}-soak", connections, options.ConnectParallelism, progress, cancellationToken);
        var opened = Stopwatch.StartNew();
        var rate = new RateMeter();
        await context.View.WatchAsync($"soak · opening {connections:N0} connections", () =>
        [
            ("connected", $"{progress.Connected:N0} / {connections:N0}"),
            ("connects/s", $"{rate.PerSecond(progress.Connected):N0}"),
            ("failed connects", $"{progress.Failed:N0}"),
            ("server memory", Describe(target.ReadMemory(collectFirst: false))),
        ], opening).ConfigureAwait(false);
        var open = await opening.ConfigureAwait(false);
        var openSeconds = opened.Elapsed.TotalSeconds;

        await Task.Delay(options.Settle, cancellationToken).ConfigureAwait(false);
        var after = target.ReadMemory(collectFirst: true);
        var peak = after;

        var hold = Stopwatch.StartNew();
        var holding = Task.Delay(options.Hold, cancellationToken);
        await context.View.WatchAsync($"soak · holding {open.Sockets.Count:N0} connections for {options.Hold.TotalSeconds:N0} s", () =>
        {
            var now = target.ReadMemory(collectFirst: false);
            if (now is not null && peak is not null && now.ResidentBytes > peak.ResidentBytes) peak = now;
            return
            [
                ("held", $"{open.Sockets.Count(s => s.IsOpen):N0}"),
                ("dropped", $"{open.Handler.Dropped:N0}"),
                ("elapsed", $"{hold.Elapsed.TotalSeconds:N0} s"),
                ("server memory", Describe(now)),
            ];
        }, holding).ConfigureAwait(false);
        var heldAtEnd = open.Sockets.Count(s => s.IsOpen);
        var atEnd = target.ReadMemory(collectFirst: false);
        open.Handler.Closing = true;
        await Parallel.ForEachAsync(open.Sockets, new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (s, _) => await s.CloseAsync().ConfigureAwait(false))
            .ConfigureAwait(false);

        var phase = new PhaseResult
        {
            System = "AspireChat",
            Phase = "soak",
            Clients = open.Sockets.Count,
            Seconds = options.Hold.TotalSeconds,
        };
        phase.Figures["connections requested"] = requested;
        phase.Figures["connections opened"] = open.Sockets.Count;
        phase.Figures["connections held to the end"] = heldAtEnd;
        phase.Figures["failed connects"] = progress.Failed;
        phase.Figures["dropped while held"] = open.Handler.Dropped;
        phase.Figures["seconds to open"] = Math.Round(openSeconds, 1);
        phase.Figures["source addresses"] = Math.Max(1, context.Sources.Addresses.Count);
        if (before is null || after is null)
        {
            phase.Notes.Add("the server's memory is not readable from here (URL target): connections only");
        }
        else if (open.Sockets.Count > 0)
        {
            var perConnection = (after.ResidentBytes - before.ResidentBytes) / 1024.0 / open.Sockets.Count;
            phase.Figures["server RSS before (MiB)"] = Math.Round(before.ResidentBytes / 1048576.0, 1);
            phase.Figures["server RSS with all open (MiB)"] = Math.Round(after.ResidentBytes / 1048576.0, 1);
            phase.Figures["server RSS peak while held (MiB)"] = Math.Round(Math.Max(peak!.ResidentBytes, atEnd?.ResidentBytes ?? 0) / 1048576.0, 1);
            phase.Figures["server KiB per connection (RSS)"] = Math.Round(perConnection, 2);
            if (before.ManagedHeapBytes is { } heapBefore && after.ManagedHeapBytes is { } heapAfter)
                phase.Figures["managed heap KiB per connection"] = Math.Round((heapAfter - heapBefore) / 1024.0 / open.Sockets.Count, 2);
            if (after.IncludesClients)
                phase.Notes.Add("the server runs in Bench's process: these figures include the load clients' share (use --target process for the server alone)");
            result.Targets.Add(new("server memory per connection", $"≤ {TargetKibPerConnection} KiB", $"{perConnection:N2} KiB", perConnection <= TargetKibPerConnection));
        }
        result.Targets.Add(new("concurrent authenticated connections, one node", $"≥ {TargetConnections:N0}", $"{heldAtEnd:N0}", heldAtEnd >= TargetConnections));
        if (open.FirstFailure is { } failure) phase.Notes.Add($"first failed connect: {Describe(failure)}");
        if (open.Handler.FirstDrop is { } drop) phase.Notes.Add($"first drop: {Describe(drop)}");
        if (open.Handler.Dropped > 0 || heldAtEnd < open.Sockets.Count)
            result.Errors.Add($"{open.Sockets.Count - heldAtEnd} of {open.Sockets.Count} connections were not open at the end of the hold");
        if (target is GatewayProcessTarget { HasExited: true } process)
            result.Errors.Add($"the Gateway process exited during the soak: {string.Join(" | ", process.Output.TakeLast(5))}");
        phase.Notes.Add($"open-files limit (RLIMIT_NOFILE) of Bench, inherited by a Gateway it starts: {MachineInfo.OpenFiles():N0}");
        result.Phases.Add(phase);
        return result;
    }

    /// <summary>The file-descriptor ceiling: each connection takes one here and one in the server (two when in-process).</summary>
    private static int Cap(BenchContext context, int requested, List<string> notes)
    {
        var limit = MachineInfo.OpenFiles();
        if (limit <= 0) return requested;
        var perConnection = context.Target.InProcess ? 2 : 1;
        var ceiling = (int)Math.Max(1, (limit - 512) / perConnection);
        if (requested <= ceiling) return requested;
        notes.Add($"asked for {requested:N0} connections; RLIMIT_NOFILE is {limit:N0} here (and the server inherits it), so at most {ceiling:N0} can be held. " +
            "Raise it with `ulimit -n` (Bench/run-soak.sh tries 1048576; raising the hard limit needs CAP_SYS_RESOURCE).");
        return ceiling;
    }

    private static string Describe(Exception e) =>
        string.Join(" ← ", Chain(e).Select(x => $"{x.GetType().Name}: {x.Message}"));

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException) yield return e;
    }

    private static string Describe(ServerMemory? memory) => memory is null
        ? "not readable"
        : $"{memory.ResidentBytes / 1048576.0:N0} MiB RSS" + (memory.ManagedHeapBytes is { } heap ? $", {heap / 1048576.0:N0} MiB managed" : "");

    private sealed record Opened(List<BenchSocket> Sockets, SoakHandler Handler, Exception? FirstFailure);

    private static async Task<Opened> OpenAsync(BenchContext context, string prefix, int count, int parallelism, SoakProgress? progress, CancellationToken cancellationToken)
    {
        var handler = new SoakHandler();
        var sockets = new BenchSocket?[count];
        Exception? firstFailure = null;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var user = $"{prefix}-{i}";
            try
            {
                var token = await context.Target.Tokens.TokenAsync(user, ct).ConfigureAwait(false);
                sockets[i] = await BenchSocket.ConnectAsync(context.Target.WebSocketUri, context.Sources.Next(), user, "bench", token, null, handler, ct)
                    .ConfigureAwait(false);
                progress?.OnConnected();
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Interlocked.CompareExchange(ref firstFailure, e, null);
                progress?.OnFailed();
            }
        }).ConfigureAwait(false);
        return new Opened([.. sockets.OfType<BenchSocket>()], handler, firstFailure);
    }

    private sealed class SoakProgress
    {
        private int _connected, _failed;
        public int Connected => Volatile.Read(ref _connected);
        public int Failed => Volatile.Read(ref _failed);
        public void OnConnected() => Interlocked.Increment(ref _connected);
        public void OnFailed() => Interlocked.Increment(ref _failed);
    }

    /// <summary>Idle connections expect nothing; a close the soak did not ask for is a drop.</summary>
    private sealed class SoakHandler : IBenchSocketHandler
    {
        private int _dropped;
        public volatile bool Closing;
        public Exception? FirstDrop;
        public int Dropped => Volatile.Read(ref _dropped);

        public void OnAck(BenchSocket socket, in ReceivedAck ack) { }
        public void OnError(BenchSocket socket, long? req, string code, string message) { }
        public void OnMessage(BenchSocket socket, in ReceivedMessage message) { }

        public void OnClosed(BenchSocket socket, Exception? error)
        {
            if (Closing) return;
            Interlocked.Increment(ref _dropped);
            Interlocked.CompareExchange(ref FirstDrop, error ?? new IOException($"the server closed {socket.User}'s connection"), null);
        }
    }
}
