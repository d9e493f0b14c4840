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

/// <summary>
/// A device that pipelines sends to one recipient (at most 32 unacknowledged). After a reconnect it retransmits what was
/// not acknowledged, in req order. After an <c>unavailable</c> it does what keeps its order: it waits until every send in
/// flight is answered, then retransmits the unacknowledged ones one at a time (the next only once the previous is
/// acknowledged), and pipelines again once none is left.
/// </summary>
public sealed class LoadSender(string user, string to, DeliveryChecker checker)
{
    private readonly SenderLog _log = checker.Sender(user, "d1");
    private readonly Lock _gate = new();
    private readonly SortedSet<long> _unacked = [];
    private readonly HashSet<long> _inFlight = [];
    private readonly HashSet<string> _ackedIds = [];
    private long _nextReq = 1;
    private int _refused;
    private bool _recovering;
    private long _lastRefusal;

    public volatile bool SendingNew = true;

    public int Unacked { get { lock (_gate) return _unacked.Count; } }
    public long AckedCount { get { lock (_gate) return _ackedIds.Count; } }
    public IReadOnlyCollection<string> AckedIds { get { lock (_gate) return [.. _ackedIds]; } }

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
                lock (_gate)
                {
                    _inFlight.Clear();
                    resend = _recovering ? [] : [.. _unacked];
                    _inFlight.UnionWith(resend);
                }
                foreach (var req in resend) await socket.SendChatAsync(req, to, $"m{req}");
                while (!stop.IsCancellationRequested && !reader.IsCompleted)
                {
                    if (Next() is { } req) await socket.SendChatAsync(req, to, $"m{req}");
                    else await Task.Delay(10, stop);
                    await Task.Delay(2, stop);
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

    // The req to put on the wire now, if any.
    private long? Next()
    {
        lock (_gate)
        {
            if (_recovering)
            {
                if (_inFlight.Count > 0 || Environment.TickCount64 - _lastRefusal < 200) return null;
                if (_unacked.Count == 0)
                {
                    _recovering = false;
                    return null;
                }
                _inFlight.Add(_unacked.Min);
                return _unacked.Min;
            }
            if (!SendingNew || _unacked.Count >= 32) return null;
            var req = _nextReq++;
            _unacked.Add(req);
            _inFlight.Add(req);
            _log.Sent(req, [new DeviceKey(to, "d1")]);
            return req;
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
                    lock (_gate)
                    {
                        _unacked.Remove(req);
                        _inFlight.Remove(req);
                        _ackedIds.Add(id);
                    }
                    break;
                case "error" when frame.TryGetProperty("req", out var refused):
                    // unavailable: not sent yet; the same req goes again once the sends in flight are answered.
                    Assert.Equal("unavailable", frame.GetProperty("code").GetString());
                    Interlocked.Increment(ref _refused);
                    lock (_gate)
                    {
                        _inFlight.Remove(refused.GetInt64());
                        _recovering = true;
                        _lastRefusal = Environment.TickCount64;
                    }
                    break;
            }
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
