using System.Collections.Concurrent;

namespace AspireChat.Bench.Checking;

/// <summary>A device: the unit that receives (docs/protocol.md §8: inbox cursors are per user and device).</summary>
public readonly record struct DeviceKey(string User, string Device)
{
    public override string ToString() => $"{User}/{Device}";
}

/// <summary>
/// The built-in checker of every Bench run. It is fed what the load clients saw — sends, acks, errors and raw
/// deliveries, exactly as they came off the wire — and says whether the promises of docs/protocol.md §8–§9 held:
/// every send acknowledged or reported failed; every acknowledged message delivered to every expected device
/// exactly once; per-conversation order intact (cseq ascending, each sender's messages in its req order);
/// inbox seq contiguous. A plain class: no server, no clock, so tests can feed it anything.
/// </summary>
/// <remarks>
/// A <c>msg</c> repeated at the <c>seq</c> it already had is a protocol retransmission (the client drops it by
/// <c>seq</c>): counted, not a violation. The same message at a second <c>seq</c>, or a message without <c>seq</c>
/// (large group) arriving twice, is a duplicate: it would be shown twice.
/// </remarks>
public sealed class DeliveryChecker
{
    private readonly ConcurrentDictionary<DeviceKey, SenderLog> _senders = new();
    private readonly ConcurrentDictionary<DeviceKey, DeviceLog> _devices = new();
    private readonly ConcurrentQueue<Violation> _live = new();
    private int _liveCount;

    /// <summary>The log a sending device writes its sends, acks and errors to.</summary>
    public SenderLog Sender(string user, string device) => _senders.GetOrAdd(new DeviceKey(user, device), key => new SenderLog(key, this));

    /// <summary>
    /// The log a receiving device writes its deliveries to. <paramref name="firstSeq"/> is the inbox <c>seq</c> it must
    /// receive first (its cursor + 1); null takes the first one that arrives.
    /// </summary>
    public DeviceLog Device(string user, string device, long? firstSeq = null) =>
        _devices.GetOrAdd(new DeviceKey(user, device), key => new DeviceLog(key, firstSeq, this));

    /// <summary>Violations found so far while the run goes on (seq jumps, conflicting acks); the rest come from <see cref="Finish"/>.</summary>
    public int LiveViolations => Volatile.Read(ref _liveCount);

    internal void Report(Violation violation)
    {
        _live.Enqueue(violation);
        Interlocked.Increment(ref _liveCount);
    }

    /// <summary>Settles the run: call once every client has stopped (after the drain). Returns every violation found.</summary>
    public CheckReport Finish()
    {
        var violations = new List<Violation>(_live);
        var counts = new CheckCounts();

        // 1. Every send acknowledged or reported failed; index the acknowledged ones by message id.
        var acked = new Dictionary<string, AckedSend>(StringComparer.Ordinal);
        foreach (var sender in _senders.Values)
        {
            foreach (var (req, send) in sender.Snapshot())
            {
                counts.Sends++;
                if (send.Id is { } id)
                {
                    counts.Acknowledged++;
                    acked[id] = new AckedSend(sender.Key, req, send.Recipients);
                }
                else if (send.FailCode is not null) counts.Failed++;
                else violations.Add(new Violation(ViolationKind.Unanswered, sender.Key, $"req {req}: neither acknowledged nor refused"));
            }
        }

        // 2. Per device: which acknowledged messages arrived (and how often), in what order, with what seqs.
        var arrivals = new Dictionary<DeviceKey, Dictionary<string, int>>();
        foreach (var device in _devices.Values)
        {
            var (deliveries, seqs, redeliveries, system) = device.Snapshot();
            counts.Redeliveries += redeliveries;
            counts.SystemMessages += system;
            var seen = new Dictionary<string, int>(deliveries.Count, StringComparer.Ordinal);
            arrivals[device.Key] = seen;
            var lastCseq = new Dictionary<string, (long Cseq, string Id)>(StringComparer.Ordinal);
            var lastReq = new Dictionary<(string Conv, DeviceKey Sender), (long Req, string Id)>();
            foreach (var delivery in deliveries)
            {
                counts.Deliveries++;
                seen[delivery.Id] = seen.GetValueOrDefault(delivery.Id) + 1;
                if (!acked.TryGetValue(delivery.Id, out var send))
                {
                    violations.Add(new Violation(ViolationKind.Unexpected, device.Key,
                        $"message {delivery.Id} in {delivery.Conv} from {delivery.From}: no send was acknowledged with this id"));
                    continue;
                }
                if (seen[delivery.Id] > 1) continue; // a duplicate: reported below, not an order question

                var reordered = false;
                if (delivery.Cseq > 0)
                {
                    if (lastCseq.TryGetValue(delivery.Conv, out var last) && delivery.Cseq <= last.Cseq)
                    {
                        reordered = true;
                        violations.Add(new Violation(ViolationKind.Reordered, device.Key,
                            $"{delivery.Conv}: cseq {delivery.Cseq} (message {delivery.Id}) arrived after cseq {last.Cseq} (message {last.Id})"));
                    }
                    if (!reordered || delivery.Cseq > last.Cseq) lastCseq[delivery.Conv] = (delivery.Cseq, delivery.Id);
                }
                var key = (delivery.Conv, send.Sender);
                if (lastReq.TryGetValue(key, out var previous) && send.Req < previous.Req && !reordered)
                {
                    violations.Add(new Violation(ViolationKind.Reordered, device.Key,
                        $"{delivery.Conv}: {send.Sender}'s req {send.Req} (message {delivery.Id}) arrived after its req {previous.Req} (message {previous.Id})"));
                }
                if (!lastReq.TryGetValue(key, out previous) || send.Req > previous.Req) lastReq[key] = (send.Req, delivery.Id);
            }

            // Inbox seq contiguous: every seq from the first to the highest arrived.
            if (seqs.Count > 0)
            {
                var first = device.FirstSeq ?? seqs.Min;
                var missing = MissingRanges(seqs, first, seqs.Max);
                foreach (var (from, to) in missing)
                {
                    violations.Add(new Violation(ViolationKind.SeqGap, device.Key,
                        from == to ? $"seq {from} never arrived (highest {seqs.Max})" : $"seqs {from}–{to} never arrived (highest {seqs.Max})"));
                }
            }
        }

        // 3. Every acknowledged message reached every expected device exactly once.
        foreach (var (id, send) in acked)
        {
            foreach (var recipient in send.Recipients)
            {
                var times = arrivals.TryGetValue(recipient, out var seen) ? seen.GetValueOrDefault(id) : 0;
                if (times == 1) counts.DeliveredAsExpected++;
                else if (times == 0)
                    violations.Add(new Violation(ViolationKind.Lost, recipient, $"message {id} ({send.Sender} req {send.Req}) was acknowledged but never arrived"));
                else
                    violations.Add(new Violation(ViolationKind.Duplicated, recipient, $"message {id} ({send.Sender} req {send.Req}) arrived {times} times"));
            }
        }
        return new CheckReport(violations, counts);
    }

    private static List<(long From, long To)> MissingRanges(SortedSet<long> seqs, long first, long last)
    {
        var missing = new List<(long, long)>();
        var expected = first;
        foreach (var seq in seqs.GetViewBetween(first, last))
        {
            if (seq > expected) missing.Add((expected, seq - 1));
            expected = seq + 1;
        }
        return missing;
    }

    private readonly record struct AckedSend(DeviceKey Sender, long Req, IReadOnlyList<DeviceKey> Recipients);
}

/// <summary>One sending device's sends, as the load client saw them. Thread-safe.</summary>
public sealed class SenderLog
{
    private readonly DeliveryChecker _checker;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, SendRecord> _sends = [];

    internal SenderLog(DeviceKey key, DeliveryChecker checker) => (Key, _checker) = (key, checker);

    public DeviceKey Key { get; }

    /// <summary>A send went on the wire; <paramref name="recipients"/> are the devices that must each receive it once.</summary>
    public void Sent(long req, IReadOnlyList<DeviceKey> recipients)
    {
        lock (_gate)
        {
            if (_sends.TryGetValue(req, out var existing))
            {
                existing.Recipients = recipients; // a retransmission with the same req
                return;
            }
            _sends[req] = new SendRecord { Recipients = recipients };
        }
    }

    /// <summary>The server acknowledged <paramref name="req"/> with message <paramref name="id"/>.</summary>
    public void Acked(long req, string id)
    {
        Violation? violation = null;
        lock (_gate)
        {
            if (!_sends.TryGetValue(req, out var send))
                violation = new Violation(ViolationKind.Unexpected, Key, $"ack for req {req}, which was never sent");
            else if (send.Id is { } earlier && earlier != id)
                violation = new Violation(ViolationKind.Duplicated, Key, $"req {req} acknowledged as message {earlier} and again as {id}: one send, two messages");
            else if (send.FailCode is { } code)
                violation = new Violation(ViolationKind.Unexpected, Key, $"req {req} refused ({code}) and then acknowledged as {id}");
            else send.Id = id;
        }
        if (violation is not null) _checker.Report(violation);
    }

    /// <summary>The server refused <paramref name="req"/> (an <c>error</c> naming it), or the client gave up on it.</summary>
    public void Failed(long req, string code, string message)
    {
        lock (_gate)
        {
            if (!_sends.TryGetValue(req, out var send) || send.Id is not null) return;
            send.FailCode = code;
            send.FailMessage = message;
        }
    }

    internal List<(long Req, SendRecord Send)> Snapshot()
    {
        lock (_gate) return [.. _sends.Select(p => (p.Key, p.Value))];
    }

    internal sealed class SendRecord
    {
        public IReadOnlyList<DeviceKey> Recipients { get; set; } = [];
        public string? Id { get; set; }
        public string? FailCode { get; set; }
        public string? FailMessage { get; set; }
    }
}

/// <summary>One receiving device's deliveries in arrival order, as they came off the wire. Thread-safe.</summary>
public sealed class DeviceLog
{
    private readonly DeliveryChecker _checker;
    private readonly Lock _gate = new();
    private readonly List<Delivery> _deliveries = [];
    private readonly Dictionary<long, string> _bySeq = [];
    private readonly SortedSet<long> _seqs = [];
    // Entries held from acks ahead of the next push due: they join the arrival order when the pushes reach them, as a
    // client surfaces them (in seq order).
    private readonly SortedDictionary<long, Delivery> _heldAhead = [];
    private long _nextSeq;
    private long _redeliveries;
    private long _system;

    internal DeviceLog(DeviceKey key, long? firstSeq, DeliveryChecker checker)
    {
        (Key, FirstSeq, _checker) = (key, firstSeq, checker);
        _nextSeq = firstSeq ?? 0;
    }

    public DeviceKey Key { get; }

    /// <summary>The seq this device had to receive first; null when it was the first to arrive.</summary>
    public long? FirstSeq { get; }

    /// <summary>
    /// A <c>msg</c> arrived. <paramref name="seq"/> is its inbox seq (null for a large group's message); a negative
    /// <paramref name="type"/> is a system message (group membership), which takes an inbox seq but is not a send of the run —
    /// except an operation entry (−10 … −13), which a run's client sent and which is checked like a message.
    /// Returns false when it is a retransmission of a seq already held. Pushes must come in seq order, except past the
    /// seqs this device already holds from its sends' acks (<see cref="HeldFromAck"/>), which are not pushed.
    /// </summary>
    public bool Delivered(long? seq, string id, string conv, long cseq, string from, int type = 1) => Take(seq, id, conv, cseq, from, type, pushed: true);

    /// <summary>
    /// A send's <c>ack</c> carried the sender's own inbox <paramref name="seq"/> (embedded mode): this device holds that
    /// entry from the ack, as if it had been pushed — it counts as the delivery of the message to this device. An ack may
    /// come before pushes of lower seqs still on their way, so it is not held to the push order.
    /// </summary>
    public bool HeldFromAck(long seq, string id, string conv, long cseq, string from) => Take(seq, id, conv, cseq, from, 1, pushed: false);

    private bool Take(long? seq, string id, string conv, long cseq, string from, int type, bool pushed)
    {
        Violation? violation = null;
        lock (_gate)
        {
            var delivery = new Delivery(seq, id, conv, cseq, from);
            var ahead = false;
            if (seq is { } s)
            {
                if (_bySeq.TryGetValue(s, out var known))
                {
                    if (known == id)
                    {
                        if (pushed) _redeliveries++;
                        return false;
                    }
                    violation = new Violation(ViolationKind.SeqConflict, Key, $"seq {s} arrived as message {known} and again as {id}");
                }
                else
                {
                    if (_nextSeq == 0 && pushed) _nextSeq = s;
                    if (pushed && s != _nextSeq)
                    {
                        violation = new Violation(s > _nextSeq ? ViolationKind.SeqGap : ViolationKind.Reordered, Key,
                            $"seq {s} (message {id}) arrived while seq {_nextSeq} was due");
                    }
                    _bySeq[s] = id;
                    _seqs.Add(s);
                    if (pushed) _nextSeq = Math.Max(_nextSeq, s + 1);
                    else ahead = s > _nextSeq;
                }
            }
            if (ahead) _heldAhead[seq!.Value] = delivery;
            else if (type < 0 && !Protocol.OperationTypes.IsOperation(type)) _system++;
            else _deliveries.Add(delivery);
            // The next push due skips what the device already holds from its acks.
            while (_nextSeq > 0 && _bySeq.ContainsKey(_nextSeq))
            {
                if (_heldAhead.Remove(_nextSeq, out var held)) _deliveries.Add(held);
                _nextSeq++;
            }
        }
        if (violation is not null) _checker.Report(violation);
        return true;
    }

    internal (List<Delivery> Deliveries, SortedSet<long> Seqs, long Redeliveries, long System) Snapshot()
    {
        lock (_gate) return ([.. _deliveries, .. _heldAhead.Values], new SortedSet<long>(_seqs), _redeliveries, _system);
    }

    internal readonly record struct Delivery(long? Seq, string Id, string Conv, long Cseq, string From);
}

/// <summary>What kind of promise a violation breaks.</summary>
public enum ViolationKind
{
    /// <summary>A send neither acknowledged nor refused.</summary>
    Unanswered,
    /// <summary>An acknowledged message that never reached an expected device.</summary>
    Lost,
    /// <summary>A message shown twice (at two seqs, or twice without seq), or one send acknowledged as two messages.</summary>
    Duplicated,
    /// <summary>Per-conversation order broken: cseq not ascending, or a sender's messages out of its req order.</summary>
    Reordered,
    /// <summary>Inbox seq not contiguous.</summary>
    SeqGap,
    /// <summary>Two different messages at one inbox seq.</summary>
    SeqConflict,
    /// <summary>Something no send explains: a delivery or an ack nobody asked for.</summary>
    Unexpected,
}

/// <summary>One broken promise, on one device.</summary>
public sealed record Violation(ViolationKind Kind, DeviceKey Device, string Detail)
{
    public override string ToString() => $"{Kind} at {Device}: {Detail}";
}

/// <summary>What the checker counted.</summary>
public sealed class CheckCounts
{
    public long Sends { get; set; }
    public long Acknowledged { get; set; }
    public long Failed { get; set; }
    /// <summary>Deliveries of run messages (first arrivals at a seq, or seqless arrivals).</summary>
    public long Deliveries { get; set; }
    /// <summary>(message, expected device) pairs that arrived exactly once.</summary>
    public long DeliveredAsExpected { get; set; }
    /// <summary>Protocol retransmissions: a seq arriving again with the message it already had.</summary>
    public long Redeliveries { get; set; }
    /// <summary>System messages (group membership events) that took an inbox seq.</summary>
    public long SystemMessages { get; set; }
}

/// <summary>The checker's verdict on a run.</summary>
public sealed record CheckReport(IReadOnlyList<Violation> Violations, CheckCounts Counts)
{
    public bool Passed => Violations.Count == 0;

    /// <summary>How many violations of each kind.</summary>
    public IReadOnlyDictionary<ViolationKind, int> ByKind => Violations.GroupBy(v => v.Kind).ToDictionary(g => g.Key, g => g.Count());
}
