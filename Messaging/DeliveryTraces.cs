using System.Diagnostics;

namespace AspireChat.Messaging;

/// <summary>
/// One device session's side of the message traces: the push span of each traced entry it writes to the socket, and
/// the ack span of each cumulative ack, a child of the push it acknowledges. Keeps the pushed contexts until acked
/// (at most a window's worth; only sampled ones). Thread-safe: routing pushes while the read loop acks.
/// </summary>
public sealed class DeliveryTraces(string user, string device)
{
    private readonly Lock _gate = new();
    // Made with the first traced push: a device whose messages are not sampled holds none.
    private SortedList<long, ActivityContext>? _pushed;

    /// <summary>Starts the push span of <paramref name="entry"/> (see <see cref="MessageTracing.StartPush"/>); the caller stops it once the frame is queued.</summary>
    public Activity? StartPush(InboxEntry entry)
    {
        var push = MessageTracing.StartPush(entry, device);
        if (push is not null)
        {
            lock (_gate) (_pushed ??= [])[entry.Seq] = push.Context;
        }
        return push;
    }

    /// <summary>Writes <paramref name="entry"/> with <paramref name="write"/> inside its push span (when its message is traced).</summary>
    public void Push<TState>(InboxEntry entry, TState state, Action<TState, InboxEntry> write)
    {
        var push = StartPush(entry);
        try
        {
            write(state, entry);
        }
        finally
        {
            MessageTracing.StopKeepingCurrent(push);
        }
    }

    /// <summary>
    /// Starts the span of an ack through <paramref name="seq"/>: in the trace of the highest traced entry it acknowledges,
    /// linked to the other traced ones. Null when it acknowledges no traced push. The caller stops it once the ack is applied.
    /// </summary>
    public Activity? StartAck(long seq)
    {
        ActivityContext last = default;
        List<ActivityContext>? others = null;
        lock (_gate)
        {
            while (_pushed is { Count: > 0 } && _pushed.Keys[0] <= seq)
            {
                if (last != default) (others ??= []).Add(last);
                last = _pushed.Values[0];
                _pushed.RemoveAt(0);
            }
        }
        return MessageTracing.StartAck(user, device, seq, last, others);
    }
}
