using System.Text.Json;
using AspireChat.Bench.Checking;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Topology;

/// <summary>
/// Pairs of devices under load against the topology, doing what the protocol asks of a client: a sender pipelines
/// sends, retransmits with the same <c>req</c> what was neither acknowledged nor refused for good (after a reconnect, or
/// an <c>unavailable</c>), a receiver acknowledges cumulatively and says hello with the highest contiguous <c>seq</c>
/// it holds. A lost connection is opened again, on whichever gateway the pair's picker names then. Everything seen
/// goes to the Bench checker.
/// </summary>
public sealed class TopologyLoad(DeliveryChecker checker, Func<int, ServiceProcess> senders, Func<int, ServiceProcess>? receivers = null)
{
    private readonly List<LoadSender> _senders = [];
    private readonly List<LoadReceiver> _receivers = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();

    public IReadOnlyList<LoadSender> Senders => _senders;

    /// <summary>Starts <paramref name="pairs"/> sender → receiver pairs (users unique to this run).</summary>
    public void Start(int pairs)
    {
        var run = Guid.NewGuid().ToString("n")[..8];
        for (var i = 0; i < pairs; i++)
        {
            var index = i;
            var receiver = new LoadReceiver($"r{i}{run}", checker);
            var sender = new LoadSender($"s{i}{run}", receiver.User, checker);
            _receivers.Add(receiver);
            _senders.Add(sender);
            _loops.Add(receiver.RunAsync(() => (receivers ?? senders)(index), _stop.Token));
            _loops.Add(sender.RunAsync(() => senders(index), _stop.Token));
        }
    }

    /// <summary>Sends nothing new from now on; retransmissions go on.</summary>
    public void StopSending()
    {
        foreach (var sender in _senders) sender.SendingNew = false;
    }

    public long Acked => _senders.Sum(s => s.AckedCount);

    /// <summary>Every send acknowledged, and every acknowledged message held by its receiver.</summary>
    public bool Settled => _senders.All(s => s.Unacked == 0) && _senders.Zip(_receivers).All(p => p.Second.Holds(p.First.AckedIds));

    public bool Delivered => _senders.Zip(_receivers).All(p => p.Second.Holds(p.First.AckedIds));

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    internal static async Task<JsonElement?> NextAsync(TestSocket socket, CancellationToken stop)
    {
        try
        {
            return await socket.ReceiveAsync(TimeSpan.FromMilliseconds(500)).WaitAsync(stop);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    // The server went away (socket errors, a closed channel) or the run is over.
    internal static bool IsConnectionEnd(Exception e, CancellationToken stop) =>
        stop.IsCancellationRequested || e is System.Net.WebSockets.WebSocketException or InvalidOperationException or HttpRequestException or IOException
            or JsonException or TimeoutException or OperationCanceledException;
}

/// <summary>A device that pipelines sends to one recipient (at most 32 unacknowledged) and retransmits what needs it.</summary>
public sealed class LoadSender(string user, string to, DeliveryChecker checker)
{
    private readonly SenderLog _log = checker.Sender(user, "d1");
    private readonly SortedSet<long> _unacked = [];
    private readonly HashSet<string> _ackedIds = [];
    private readonly Queue<long> _retry = new();
    private long _nextReq = 1;
    private int _refused;

    public volatile bool SendingNew = true;

    public int Unacked { get { lock (_unacked) return _unacked.Count; } }
    public long AckedCount { get { lock (_unacked) return _ackedIds.Count; } }
    public IReadOnlyCollection<string> AckedIds { get { lock (_unacked) return [.. _ackedIds]; } }

    /// <summary>Sends answered <c>unavailable</c> so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public async Task RunAsync(Func<ServiceProcess> gateway, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var socket = await ChatTopology.ConnectAsync(gateway(), user);
                using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var reader = ReadAsync(socket, connection.Token);
                long[] resend;
                lock (_unacked)
                {
                    resend = [.. _unacked];
                    _retry.Clear();
                }
                foreach (var req in resend) await socket.SendChatAsync(req, to, $"m{req}");
                while (!stop.IsCancellationRequested && !reader.IsCompleted)
                {
                    long? next = null;
                    lock (_unacked)
                    {
                        if (_retry.TryDequeue(out var again)) next = again;
                    }
                    if (next is null && SendingNew && Unacked < 32)
                    {
                        next = _nextReq++;
                        lock (_unacked) _unacked.Add(next.Value);
                        _log.Sent(next.Value, [new DeviceKey(to, "d1")]);
                    }
                    if (next is { } req) await socket.SendChatAsync(req, to, $"m{req}");
                    await Task.Delay(next is null ? 20 : 3, stop);
                }
                await connection.CancelAsync();
                await reader;
            }
            catch (Exception e) when (TopologyLoad.IsConnectionEnd(e, stop))
            {
                if (!stop.IsCancellationRequested) await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    private async Task ReadAsync(TestSocket socket, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (await TopologyLoad.NextAsync(socket, stop) is not { } frame) continue;
            switch (frame.GetProperty("t").GetString())
            {
                case "ack":
                    var (req, id) = (frame.GetProperty("req").GetInt64(), frame.GetProperty("id").GetString()!);
                    _log.Acked(req, id);
                    lock (_unacked)
                    {
                        _unacked.Remove(req);
                        _ackedIds.Add(id);
                    }
                    break;
                case "error" when frame.TryGetProperty("req", out var refused):
                    // unavailable: not sent yet; the same req goes again a moment later.
                    Assert.Equal("unavailable", frame.GetProperty("code").GetString());
                    Interlocked.Increment(ref _refused);
                    _ = RetryLaterAsync(refused.GetInt64());
                    break;
            }
        }
    }

    private async Task RetryLaterAsync(long req)
    {
        await Task.Delay(200);
        lock (_unacked)
        {
            if (_unacked.Contains(req)) _retry.Enqueue(req);
        }
    }
}

/// <summary>A device that acknowledges cumulatively and resumes from the highest contiguous seq it holds.</summary>
public sealed class LoadReceiver(string user, DeliveryChecker checker)
{
    private readonly DeviceLog _log = checker.Device(user, "d1", firstSeq: 1);
    private readonly HashSet<string> _ids = [];
    private long _cursor;

    public string User => user;

    public bool Holds(IReadOnlyCollection<string> ids)
    {
        lock (_ids) return ids.All(_ids.Contains);
    }

    public async Task RunAsync(Func<ServiceProcess> gateway, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var socket = await ChatTopology.ConnectAsync(gateway(), user, cursor: Volatile.Read(ref _cursor));
                while (!stop.IsCancellationRequested)
                {
                    if (await TopologyLoad.NextAsync(socket, stop) is not { } frame || frame.GetProperty("t").GetString() != "msg") continue;
                    var seq = frame.GetProperty("seq").GetInt64();
                    var id = frame.GetProperty("id").GetString()!;
                    _log.Delivered(seq, id, frame.GetProperty("conv").GetString()!, frame.GetProperty("cseq").GetInt64(), frame.GetProperty("from").GetString()!);
                    lock (_ids) _ids.Add(id);
                    if (seq == _cursor + 1) Volatile.Write(ref _cursor, seq);
                    await socket.SendAsync(new { t = "ack", seq = _cursor });
                }
            }
            catch (Exception e) when (TopologyLoad.IsConnectionEnd(e, stop))
            {
                if (!stop.IsCancellationRequested) await Task.Delay(100, CancellationToken.None);
            }
        }
    }
}
