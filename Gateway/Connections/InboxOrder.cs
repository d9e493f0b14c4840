namespace AspireChat.Gateway.Connections;

/// <summary>
/// Writes a device's inbox entries in <c>seq</c> order. A live push (stage 2) and a window fill (after an ack)
/// claim contiguous ranges but may reach the connection in either order, so a later seq waits here for the
/// earlier one. A re-push of an unacknowledged entry (seq below the next expected) goes straight out.
/// </summary>
public sealed class InboxOrder(long next, Action<byte[]> write)
{
    private readonly SortedDictionary<long, byte[]> _early = [];
    private long _next = next;

    /// <summary>Writes the entry's frame now, or holds it until the entries before it are written.</summary>
    public void Write(long seq, byte[] frame)
    {
        lock (_early)
        {
            if (seq > _next)
            {
                _early[seq] = frame;
                return;
            }
            write(frame);
            if (seq == _next) AdvanceTo(_next + 1);
        }
    }

    /// <summary>The device acknowledged (or synced) up to <paramref name="seq"/>: nothing at or below it is waited for.</summary>
    public void Acknowledged(long seq)
    {
        lock (_early) AdvanceTo(seq + 1);
    }

    private void AdvanceTo(long next)
    {
        _next = Math.Max(_next, next);
        while (_early.Count > 0)
        {
            var (seq, frame) = _early.First();
            if (seq > _next) break;
            _early.Remove(seq);
            if (seq == _next)
            {
                write(frame);
                _next++;
            }
        }
    }
}
