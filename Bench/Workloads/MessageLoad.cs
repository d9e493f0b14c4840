using System.Diagnostics;
using AspireChat.Bench.Checking;
using AspireChat.Bench.Measuring;

namespace AspireChat.Bench.Workloads;

/// <summary>How sends are paced.</summary>
/// <param name="Rate">Total messages per second over all senders; null = closed loop (as fast as the window lets).</param>
/// <param name="Window">Closed loop: messages a sender may have sent and not yet seen delivered to every recipient.</param>
/// <param name="Poisson">Open loop: exponential gaps instead of a fixed interval.</param>
public sealed record Pacing(double? Rate, int Window, bool Poisson)
{
    public string Describe() => Rate is { } r
        ? $"open loop, {r:N0} msg/s{(Poisson ? " (Poisson arrivals)" : "")}"
        : $"closed loop, window {Window} per sender";
}

/// <summary>One sender of a run: its client, where it sends, and who must get each message.</summary>
public sealed record LoadSender(ILoadClient Client, int Ope, string To, IReadOnlyList<DeviceKey> Recipients, int LatencyRecipients);

/// <summary>
/// Drives senders at a pace and measures: counts, throughput over the measured window, and HdrHistogram latencies
/// send→ack, send→deliver (each recipient other than the sender) and send→last recipient. In the open-loop mode
/// every latency runs from the message's intended send time, so a stalled server cannot hide its stall by slowing
/// the sender down (coordinated omission).
/// </summary>
public sealed class MessageLoad : ILoadSink
{
    private readonly LoadSender[] _senders;
    private readonly int[] _senderClientIndex;
    private readonly int[] _senderOfClient;
    private readonly MessageBook[] _books;
    private readonly DeliveryChecker _checker;
    private readonly string _device;
    private readonly bool _acknowledges;
    private readonly SemaphoreSlim?[] _windows;
    private readonly ResourceProbe? _resources;
    private long _measureFrom = long.MaxValue;
    private long _measureUntil = long.MaxValue;

    private long _sent, _acked, _failed, _delivered, _completed, _expectedDeliveries, _allDeliveries, _disconnects;
    private Exception? _firstDisconnect;

    /// <param name="senderClientIndex">For each sender, its client index among all connected clients (to tell its own copies).</param>
    public MessageLoad(IReadOnlyList<LoadSender> senders, IReadOnlyList<int> senderClientIndex, ILoadSystem system, DeliveryChecker checker, Pacing pacing,
        ResourceProbe? resources = null)
    {
        _resources = resources;
        _senders = [.. senders];
        _senderClientIndex = [.. senderClientIndex];
        _senderOfClient = new int[senderClientIndex.Count == 0 ? 0 : senderClientIndex.Max() + 1];
        Array.Fill(_senderOfClient, -1);
        for (var i = 0; i < _senderClientIndex.Length; i++) _senderOfClient[_senderClientIndex[i]] = i;
        _books = [.. senders.Select(_ => new MessageBook())];
        _checker = checker;
        _device = system.Device;
        _acknowledges = system.Acknowledges;
        Pacing = pacing;
        _windows = [.. senders.Select(_ => pacing.Rate is null ? new SemaphoreSlim(pacing.Window) : null)];
    }

    public Pacing Pacing { get; }
    public LatencyRecorder SendToAck { get; } = new();
    public LatencyRecorder SendToDeliver { get; } = new();
    public LatencyRecorder SendToLastRecipient { get; } = new();

    public long Sent => Volatile.Read(ref _sent);
    public long AckedCount => Volatile.Read(ref _acked);
    public long FailedCount => Volatile.Read(ref _failed);
    /// <summary>First arrivals at recipients other than the sender.</summary>
    public long DeliveredCount => Volatile.Read(ref _delivered);
    /// <summary>Messages every recipient has.</summary>
    public long CompletedCount => Volatile.Read(ref _completed);
    public long Disconnects => Volatile.Read(ref _disconnects);
    public Exception? FirstDisconnect => _firstDisconnect;
    public bool Measuring => Stopwatch.GetTimestamp() >= _measureFrom;

    /// <summary>Runs the senders for <paramref name="warmup"/> + <paramref name="measure"/>, then waits for the drain.</summary>
    public async Task<LoadWindow> RunAsync(TimeSpan warmup, TimeSpan measure, TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        _measureFrom = start + Ticks(warmup);
        _measureUntil = _measureFrom + Ticks(measure);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        var loops = _senders.Select((_, i) => Task.Run(() => Pacing.Rate is { } rate
            ? OpenLoopAsync(i, rate / _senders.Length, start, stop.Token)
            : ClosedLoopAsync(i, stop.Token), CancellationToken.None)).ToArray();

        await DelayUntilAsync(_measureFrom, cancellationToken).ConfigureAwait(false);
        var atStart = Snapshot();
        var resourcesAtStart = _resources?.Take();
        await DelayUntilAsync(_measureUntil, cancellationToken).ConfigureAwait(false);
        var atEnd = Snapshot();
        var resources = resourcesAtStart is null ? [] : ResourceProbe.Between(resourcesAtStart, _resources!.Take());
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);

        var drained = Stopwatch.StartNew();
        while (!IsDrained() && drained.Elapsed < drainTimeout) await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
        return new LoadWindow(measure.TotalSeconds, atEnd.Delivered - atStart.Delivered, atEnd.Completed - atStart.Completed,
            atEnd.Acked - atStart.Acked, atEnd.Sent - atStart.Sent, IsDrained(), drained.Elapsed) { Resources = resources };
    }

    private bool IsDrained() =>
        Volatile.Read(ref _acked) + Volatile.Read(ref _failed) >= Volatile.Read(ref _sent)
        && Volatile.Read(ref _allDeliveries) >= Volatile.Read(ref _expectedDeliveries);

    private (long Sent, long Acked, long Delivered, long Completed) Snapshot() => (Sent, AckedCount, DeliveredCount, CompletedCount);

    private async Task ClosedLoopAsync(int index, CancellationToken stop)
    {
        var window = _windows[index]!;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await window.WaitAsync(stop).ConfigureAwait(false);
                if (stop.IsCancellationRequested) break;
                await SendOneAsync(index, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task OpenLoopAsync(int index, double ratePerSender, long start, CancellationToken stop)
    {
        var interval = Stopwatch.Frequency / ratePerSender;
        var random = new Random(index);
        // Stagger the senders across one interval so their sends do not all fall on the same tick.
        var next = start + interval * index / _senders.Length;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                if (next > now)
                {
                    // Timers tick in whole milliseconds: sleep at least one (a shorter wait would spin a core the
                    // server needs); what falls due meanwhile goes out together, still stamped with its own time.
                    var waitMs = Math.Max(1, (int)Math.Ceiling((next - now) * 1000 / Stopwatch.Frequency));
                    await Task.Delay(waitMs, stop).ConfigureAwait(false);
                }
                // Everything due goes out now, each stamped with the time it was meant to go.
                now = Stopwatch.GetTimestamp();
                while (next <= now && !stop.IsCancellationRequested)
                {
                    await SendOneAsync(index, (long)next).ConfigureAwait(false);
                    next += Pacing.Poisson ? -Math.Log(1 - random.NextDouble()) * interval : interval;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async ValueTask SendOneAsync(int index, long intended)
    {
        var sender = _senders[index];
        var book = _books[index];
        var req = book.Next(intended, sender.LatencyRecipients);
        _checker.Sender(sender.Client.User, _device).Sent(req, sender.Recipients);
        Interlocked.Increment(ref _sent);
        if (!_acknowledges) Interlocked.Add(ref _expectedDeliveries, sender.Recipients.Count);
        try
        {
            await sender.Client.SendAsync(sender.Ope, sender.To, req, index).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            _checker.Sender(sender.Client.User, _device).Failed(req, "send_failed", e.Message);
            Failed(_senderClientIndex[index], req, "send_failed");
        }
    }

    /// <summary>Client <paramref name="client"/>'s send <paramref name="req"/> was acknowledged.</summary>
    public void Acked(int client, long req)
    {
        var now = Stopwatch.GetTimestamp();
        if (SenderOf(client) is not { } sender) return;
        Interlocked.Increment(ref _acked);
        if (!_acknowledges) return;
        Interlocked.Add(ref _expectedDeliveries, _senders[sender].Recipients.Count);
        var intended = _books[sender].Intended(req);
        if (InWindow(intended)) SendToAck.Record(intended, now);
    }

    /// <summary>Client <paramref name="client"/>'s send <paramref name="req"/> was refused or could not be written.</summary>
    public void Failed(int client, long req, string code)
    {
        if (SenderOf(client) is not { } sender) return;
        Interlocked.Increment(ref _failed);
        if (!_acknowledges) Interlocked.Add(ref _expectedDeliveries, -_senders[sender].Recipients.Count);
        _windows[sender]?.Release();
    }

    public void HeldOwnCopy(int client, long req)
    {
        if (SenderOf(client) is not null) Interlocked.Increment(ref _allDeliveries);
    }

    public void Delivered(int sender, long req, int recipient)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _allDeliveries);
        if ((uint)sender >= (uint)_senders.Length || recipient == _senderClientIndex[sender]) return;
        Interlocked.Increment(ref _delivered);
        var book = _books[sender];
        var intended = book.Intended(req);
        var measured = InWindow(intended);
        if (measured) SendToDeliver.Record(intended, now);
        if (book.RecipientArrived(req))
        {
            Interlocked.Increment(ref _completed);
            if (measured) SendToLastRecipient.Record(intended, now);
            _windows[sender]?.Release();
        }
    }

    public void Disconnected(int client, Exception? error)
    {
        if (Interlocked.Increment(ref _disconnects) == 1) _firstDisconnect = error;
    }

    private int? SenderOf(int client) => (uint)client < (uint)_senderOfClient.Length && _senderOfClient[client] >= 0 ? _senderOfClient[client] : null;

    private bool InWindow(long intended) => intended >= _measureFrom && intended < _measureUntil;

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static async Task DelayUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (left > TimeSpan.Zero) await Task.Delay(left, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What happened inside the measured window.</summary>
public sealed record LoadWindow(double Seconds, long Delivered, long Completed, long Acked, long Sent, bool Drained, TimeSpan DrainTime)
{
    /// <summary>CPU and GC over the measured window (<see cref="ResourceProbe"/>).</summary>
    public Dictionary<string, double> Resources { get; init; } = [];

    public double DeliveredPerSecond => Delivered / Seconds;
    public double CompletedPerSecond => Completed / Seconds;
    public double AckedPerSecond => Acked / Seconds;
    public double SentPerSecond => Sent / Seconds;
}

/// <summary>
/// One sender's messages by req (1, 2, 3 …): when each was meant to go, and how many recipients still miss it.
/// Written by the sender loop, read by receive loops: chunked arrays that never move once published.
/// </summary>
internal sealed class MessageBook
{
    private const int ChunkBits = 14;
    private const int ChunkSize = 1 << ChunkBits;
    private long[]?[] _intended = new long[]?[64];
    private int[]?[] _remaining = new int[]?[64];
    private long _last;

    /// <summary>Allocates the next req, stamped with its intended send time.</summary>
    public long Next(long intended, int recipients)
    {
        var req = _last + 1;
        var (chunk, offset) = ((int)(req >> ChunkBits), (int)(req & (ChunkSize - 1)));
        if (chunk >= _intended.Length)
        {
            // Grow the chunk directories; readers holding the old ones still see every published chunk.
            var intendedGrown = new long[]?[_intended.Length * 2];
            var remainingGrown = new int[]?[_remaining.Length * 2];
            Array.Copy(_intended, intendedGrown, _intended.Length);
            Array.Copy(_remaining, remainingGrown, _remaining.Length);
            Volatile.Write(ref _intended, intendedGrown);
            Volatile.Write(ref _remaining, remainingGrown);
        }
        var intendedChunk = _intended[chunk] ??= new long[ChunkSize];
        var remainingChunk = _remaining[chunk] ??= new int[ChunkSize];
        intendedChunk[offset] = intended;
        Volatile.Write(ref remainingChunk[offset], recipients);
        Volatile.Write(ref _last, req);
        return req;
    }

    public long Intended(long req)
    {
        if (req < 1 || req > Volatile.Read(ref _last)) return long.MinValue;
        return Volatile.Read(ref _intended)[req >> ChunkBits]![req & (ChunkSize - 1)];
    }

    /// <summary>One more recipient has the message; true when it was the last one.</summary>
    public bool RecipientArrived(long req)
    {
        if (req < 1 || req > Volatile.Read(ref _last)) return false;
        return Interlocked.Decrement(ref Volatile.Read(ref _remaining)[req >> ChunkBits]![req & (ChunkSize - 1)]) == 0;
    }
}
