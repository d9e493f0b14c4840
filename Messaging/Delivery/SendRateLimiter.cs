namespace AspireChat.Messaging.Delivery;

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
