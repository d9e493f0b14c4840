using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// The sends and operations that have no <c>ack</c> yet, in <c>req</c> order, and when each is due again.
/// The writer loop asks it what to put on the wire; the receive loop settles entries as acks and errors arrive.
/// </summary>
internal sealed class Outbox
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, OutgoingRequest> _pending = new();
    private readonly Queue<OutgoingRequest> _fresh = new();
    private readonly PriorityQueue<OutgoingRequest, DateTimeOffset> _deadlines = new();

    public int Count
    {
        get { lock (_gate) return _pending.Count; }
    }

    /// <summary>Queues a send; false when a send with the same <c>req</c> is already pending.</summary>
    public bool TryAdd(OutgoingRequest message)
    {
        lock (_gate)
        {
            if (!_pending.TryAdd(message.Req, message)) return false;
            _fresh.Enqueue(message);
            return true;
        }
    }

    /// <summary>
    /// Picks what the writer transmits now on connection <paramref name="connectionId"/>: on its first pass every
    /// pending send (retransmission after reconnect), then new sends and sends whose ack is overdue — always in
    /// <c>req</c> order. Sends out of attempts go to <paramref name="failed"/>. Returns when the next one falls due.
    /// </summary>
    public DateTimeOffset Plan(int connectionId, bool firstPass, DateTimeOffset now, TimeSpan sendTimeout, int maxAttempts,
        List<OutgoingRequest> transmit, List<OutgoingRequest> failed)
    {
        lock (_gate)
        {
            if (firstPass)
            {
                _fresh.Clear();
                _deadlines.Clear();
                foreach (var message in _pending.Values)
                    Consider(message);
            }
            else
            {
                while (_fresh.TryDequeue(out var message))
                {
                    if (message.Status == OutgoingStatus.Pending && message.ConnectionId != connectionId) Consider(message);
                }
                while (_deadlines.TryPeek(out var message, out var due) && due <= now)
                {
                    _deadlines.Dequeue();
                    if (IsCurrent(message, due)) Consider(message);
                }
            }

            foreach (var message in failed) _pending.Remove(message.Req);
            transmit.Sort(static (a, b) => a.Req.CompareTo(b.Req));

            while (_deadlines.TryPeek(out var next, out var due))
            {
                if (IsCurrent(next, due)) return due;
                _deadlines.Dequeue();
            }
            return DateTimeOffset.MaxValue;
        }

        bool IsCurrent(OutgoingRequest message, DateTimeOffset due) =>
            message.Status == OutgoingStatus.Pending && message.ConnectionId == connectionId && message.DueAt == due;

        void Consider(OutgoingRequest message)
        {
            if (message.Attempts >= maxAttempts)
            {
                if (message.TryMarkFailed(ClientErrorCodes.Timeout, $"no ack after {message.Attempts} attempts")) failed.Add(message);
                return;
            }
            message.Attempts++;
            message.ConnectionId = connectionId;
            message.DueAt = now + sendTimeout;
            _deadlines.Enqueue(message, message.DueAt);
            transmit.Add(message);
        }
    }

    /// <summary>Settles the send an <c>ack</c> names; null when it is not pending (a late or repeated ack).</summary>
    public OutgoingRequest? Acknowledge(SendAckFrame ack)
    {
        lock (_gate)
        {
            if (!_pending.Remove(ack.Req, out var message)) return null;
            message.TryMarkSent(ack);
            return message;
        }
    }

    /// <summary>Fails the send an <c>error</c> names; null when it is not pending.</summary>
    public OutgoingRequest? Fail(long req, string code, string text)
    {
        lock (_gate)
        {
            if (!_pending.Remove(req, out var message)) return null;
            message.TryMarkFailed(code, text);
            return message;
        }
    }

    /// <summary>Moves a send's next transmission later (the server said rate_limited or unavailable); the delay depends on its attempts.</summary>
    public bool Defer(long req, int connectionId, Func<int, DateTimeOffset> dueAfterAttempts)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(req, out var message) || message.ConnectionId != connectionId) return false;
            message.DueAt = dueAfterAttempts(message.Attempts);
            _deadlines.Enqueue(message, message.DueAt);
            return true;
        }
    }

    /// <summary>Empties the outbox (the client is closing); the sends stay Pending.</summary>
    public List<OutgoingRequest> TakeAll()
    {
        lock (_gate)
        {
            var all = _pending.Values.ToList();
            _pending.Clear();
            _fresh.Clear();
            _deadlines.Clear();
            return all;
        }
    }
}
