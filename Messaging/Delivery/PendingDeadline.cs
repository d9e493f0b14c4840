namespace AspireChat.Messaging.Delivery;

/// <summary>When a pending entry is due again: the ack timeout, doubled with each attempt (backoff).</summary>
internal static class PendingDeadline
{
    public static long Of(DeliveryOptions options, TimeProvider time, int attempt) =>
        time.GetUtcNow().ToUnixTimeMilliseconds() + (long)(options.AckTimeout.TotalMilliseconds * (1L << Math.Min(attempt, 10)));
}
