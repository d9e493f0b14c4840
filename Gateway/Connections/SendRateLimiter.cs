namespace AspireChat.Gateway.Connections;

/// <summary>Per-connection token bucket: <c>Limits:SendsPerSecond</c> sustained, bursts of <c>Limits:SendBurst</c>.</summary>
public sealed class SendRateLimiter(double perSecond, int burst, TimeProvider time)
{
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    /// <summary>Takes one token; false when the bucket is empty.</summary>
    public bool TryTake()
    {
        var now = time.GetTimestamp();
        _tokens = Math.Min(burst, _tokens + time.GetElapsedTime(_last, now).TotalSeconds * perSecond);
        _last = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }
}

/// <summary>Counts offences in a sliding window: more than <paramref name="limit"/> within <paramref name="window"/> is abuse.</summary>
public sealed class AbuseCounter(int limit, TimeSpan window, TimeProvider time)
{
    private readonly Queue<long> _times = new();

    /// <summary>Records one offence; true when the limit is now exceeded.</summary>
    public bool Record()
    {
        var now = time.GetTimestamp();
        _times.Enqueue(now);
        while (_times.Count > 0 && time.GetElapsedTime(_times.Peek(), now) > window) _times.Dequeue();
        return _times.Count > limit;
    }
}
