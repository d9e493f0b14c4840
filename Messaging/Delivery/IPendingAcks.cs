namespace AspireChat.Messaging.Delivery;

/// <summary>An inbox entry pushed to a device and not yet acknowledged, past its deadline.</summary>
public sealed record PendingDelivery(string User, string Device, long Seq, int Attempt);

/// <summary>
/// The pending-ack port: per device, the highest <c>seq</c> pushed ("claimed") and the pushed entries
/// awaiting the device's cumulative ack, each with a deadline. Claims are contiguous, so a device is
/// pushed its inbox in <c>seq</c> order and never more than a window ahead of its acks (docs/protocol.md §8).
/// </summary>
public interface IPendingAcks
{
    /// <summary>Starts tracking a device that said hello with <paramref name="cursor"/>; drops what was pending before.</summary>
    ValueTask ResetAsync(string user, string device, long cursor, CancellationToken cancellationToken = default);

    /// <summary>Stops tracking a device (it disconnected).</summary>
    ValueTask ForgetAsync(string user, string device, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims <paramref name="seq"/> for a live push: true only when the device is tracked, <paramref name="seq"/>
    /// is the next after its last claim, and fewer than <paramref name="window"/> entries are pending.
    /// </summary>
    ValueTask<bool> TryClaimAsync(string user, string device, long seq, int window, long deadline, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims the entries after the device's last claim up to <paramref name="head"/>, as many as the window
    /// has room for. Returns the claimed range, or null when there is nothing to claim.
    /// </summary>
    ValueTask<(long From, long To)?> ClaimRangeAsync(string user, string device, long head, int window, long deadline, CancellationToken cancellationToken = default);

    /// <summary>Cumulative ack: clears every pending entry ≤ <paramref name="seq"/>; entries up to it count as claimed.</summary>
    ValueTask AckAsync(string user, string device, long seq, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes pending entries whose deadline is ≤ <paramref name="now"/>: each comes back with its next attempt number and
    /// gets the deadline <paramref name="nextDeadline"/>(attempt); one that has had <paramref name="maxAttempts"/> is dropped.
    /// </summary>
    ValueTask<IReadOnlyList<PendingDelivery>> TakeExpiredAsync(long now, int maxAttempts, Func<int, long> nextDeadline, int max, CancellationToken cancellationToken = default);

    /// <summary>How many entries are pending over all devices (a metric).</summary>
    long Count { get; }
}
