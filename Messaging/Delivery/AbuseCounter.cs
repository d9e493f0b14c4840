namespace AspireChat.Messaging.Delivery;

/// <summary>Counts offences in a sliding window: more than <paramref name="limit"/> within <paramref name="window"/> is abuse.</summary>
public sealed class AbuseCounter(int limit, TimeSpan window, TimeProvider time)
{
    private readonly Queue<long> _times = new();

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
