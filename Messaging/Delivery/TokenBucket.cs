namespace AspireChat.Messaging.Delivery;

/// <summary>A token bucket: <paramref name="perSecond"/> sustained, bursts of <paramref name="burst"/>. One per session and budget.</summary>
public sealed class TokenBucket(double perSecond, int burst, TimeProvider time)
{
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    /// <summary>Takes <paramref name="weight"/> tokens; false (taking nothing) when the bucket holds fewer.</summary>
    public bool TryTake(double weight = 1)
    {
        lock (this)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + time.GetElapsedTime(_last, now).TotalSeconds * perSecond);
            _last = now;
            if (_tokens < weight) return false;
            _tokens -= weight;
            return true;
        }
    }
}
