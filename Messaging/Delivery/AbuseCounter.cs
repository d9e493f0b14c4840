namespace AspireChat.Messaging.Delivery;

/// <summary>Counts offences in a sliding window: more than <paramref name="limit"/> within <paramref name="window"/> is abuse.</summary>
public sealed class AbuseCounter(int limit, TimeSpan window, TimeProvider time)
{
    private readonly Queue<long> _times = new();

    /// <summary>
    /// The counter in <paramref name="counter"/> (10 offences within 10 s), made on first use: a connection that never
    /// offends holds none.
    /// </summary>
    public static AbuseCounter Of(ref AbuseCounter? counter, TimeProvider time)
    {
        if (Volatile.Read(ref counter) is { } existing) return existing;
        var made = new AbuseCounter(10, TimeSpan.FromSeconds(10), time);
        return Interlocked.CompareExchange(ref counter, made, null) ?? made;
    }

    /// <summary>Records one offence; true when the limit is now exceeded. Safe from any thread (sends are refused off the read loop).</summary>
    public bool Record()
    {
        lock (_times)
        {
            var now = time.GetTimestamp();
            _times.Enqueue(now);
            while (_times.Count > 0 && time.GetElapsedTime(_times.Peek(), now) > window) _times.Dequeue();
            return _times.Count > limit;
        }
    }
}
