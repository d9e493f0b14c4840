namespace AspireChat.Messaging.Conversations;

/// <summary>One connection's typing limit: at most one relayed per conversation per <see cref="Interval"/>; the rest are dropped.</summary>
public sealed class TypingThrottle(TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);

    /// <summary>True when a typing frame for <paramref name="conv"/> may be relayed now (and counts it).</summary>
    public bool TryTake(string conv)
    {
        var now = time.GetTimestamp();
        lock (_last)
        {
            if (_last.TryGetValue(conv, out var last) && time.GetElapsedTime(last, now) < Interval) return false;
            // A connection typing in many conversations keeps a small map: forget the stale ones.
            if (_last.Count >= 64) foreach (var stale in _last.Where(e => time.GetElapsedTime(e.Value, now) >= Interval).Select(e => e.Key).ToList()) _last.Remove(stale);
            _last[conv] = now;
            return true;
        }
    }
}
