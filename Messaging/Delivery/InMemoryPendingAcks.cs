using System.Collections.Concurrent;

namespace AspireChat.Messaging.Delivery;

/// <summary>Pending acks of a single node (embedded mode), with a deadline queue for the retry loop.</summary>
public sealed class InMemoryPendingAcks : IPendingAcks
{
    private sealed class DeviceState
    {
        private SortedDictionary<long, (long Deadline, int Attempt)>? _pending;
        public long Claimed;

        // Made with the first claim: an idle device holds no tree.
        public SortedDictionary<long, (long Deadline, int Attempt)> Pending => _pending ??= [];

        public int PendingCount => _pending?.Count ?? 0;
    }

    private readonly ConcurrentDictionary<(string User, string Device), DeviceState> _devices = new();
    private readonly PriorityQueue<(string User, string Device, long Seq, long Deadline), long> _deadlines = new();
    // Claims add deadlines here without a lock; the retry loop moves them into the queue. (Taking the
    // queue's lock under a device's lock would invert the retry loop's lock order.)
    private readonly ConcurrentQueue<(string User, string Device, long Seq, long Deadline)> _incoming = new();
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public ValueTask ResetAsync(string user, string device, long cursor, CancellationToken cancellationToken = default)
    {
        var state = new DeviceState { Claimed = cursor };
        _devices.AddOrUpdate((user, device), state, (_, old) =>
        {
            lock (old) Interlocked.Add(ref _count, -old.PendingCount);
            return state;
        });
        return ValueTask.CompletedTask;
    }

    public ValueTask ForgetAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        if (_devices.TryRemove((user, device), out var old))
        {
            lock (old) Interlocked.Add(ref _count, -old.PendingCount);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> TryClaimAsync(string user, string device, long seq, int window, long deadline, CancellationToken cancellationToken = default)
    {
        if (!_devices.TryGetValue((user, device), out var state)) return ValueTask.FromResult(false);
        lock (state)
        {
            if (seq != state.Claimed + 1 || state.PendingCount >= window) return ValueTask.FromResult(false);
            state.Claimed = seq;
            AddPending(state, user, device, seq, deadline, 0);
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask<(long From, long To)?> ClaimRangeAsync(string user, string device, long head, int window, long deadline, CancellationToken cancellationToken = default)
    {
        if (!_devices.TryGetValue((user, device), out var state)) return ValueTask.FromResult<(long, long)?>(null);
        lock (state)
        {
            var room = window - state.PendingCount;
            if (room <= 0 || state.Claimed >= head) return ValueTask.FromResult<(long, long)?>(null);
            var from = state.Claimed + 1;
            var to = Math.Min(head, state.Claimed + room);
            for (var seq = from; seq <= to; seq++) AddPending(state, user, device, seq, deadline, 0);
            state.Claimed = to;
            return ValueTask.FromResult<(long, long)?>((from, to));
        }
    }

    public ValueTask AckAsync(string user, string device, long seq, CancellationToken cancellationToken = default)
    {
        if (!_devices.TryGetValue((user, device), out var state)) return ValueTask.CompletedTask;
        lock (state)
        {
            while (state.PendingCount > 0)
            {
                var first = state.Pending.First().Key;
                if (first > seq) break;
                state.Pending.Remove(first);
                Interlocked.Decrement(ref _count);
            }
            if (seq > state.Claimed) state.Claimed = seq;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<PendingDelivery>> TakeExpiredAsync(long now, int maxAttempts, Func<int, long> nextDeadline, int max, CancellationToken cancellationToken = default)
    {
        var expired = new List<PendingDelivery>();
        var renewed = new List<(string User, string Device, long Seq, long Deadline)>();
        lock (_deadlines)
        {
            while (_incoming.TryDequeue(out var added)) _deadlines.Enqueue(added, added.Deadline);
            while (expired.Count < max && _deadlines.TryPeek(out var top, out var due) && due <= now)
            {
                _deadlines.Dequeue();
                if (!_devices.TryGetValue((top.User, top.Device), out var state)) continue;
                lock (state)
                {
                    // Lazy deletion: the queue keeps entries that were acked or re-deadlined since.
                    if (!state.Pending.TryGetValue(top.Seq, out var entry) || entry.Deadline != top.Deadline) continue;
                    var attempt = entry.Attempt + 1;
                    if (attempt > maxAttempts)
                    {
                        state.Pending.Remove(top.Seq);
                        Interlocked.Decrement(ref _count);
                        continue;
                    }
                    var deadline = nextDeadline(attempt);
                    state.Pending[top.Seq] = (deadline, attempt);
                    renewed.Add((top.User, top.Device, top.Seq, deadline));
                    expired.Add(new PendingDelivery(top.User, top.Device, top.Seq, attempt));
                }
            }
            foreach (var r in renewed) _deadlines.Enqueue(r, r.Deadline);
        }
        return ValueTask.FromResult<IReadOnlyList<PendingDelivery>>(expired);
    }

    private void AddPending(DeviceState state, string user, string device, long seq, long deadline, int attempt)
    {
        state.Pending[seq] = (deadline, attempt);
        Interlocked.Increment(ref _count);
        _incoming.Enqueue((user, device, seq, deadline));
    }
}
