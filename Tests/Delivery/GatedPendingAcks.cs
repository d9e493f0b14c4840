using AspireChat.Messaging.Delivery;

namespace AspireChat.Tests.Delivery;

/// <summary>Pending acks that pass everything to a real adapter, except that the next range claim can be held at a gate the test opens.</summary>
internal sealed class GatedPendingAcks(IPendingAcks inner) : IPendingAcks
{
    private TaskCompletionSource? _gate;
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a held claim is waiting at the gate.</summary>
    public Task Held => _held.Task;

    /// <summary>Holds the next <see cref="ClaimRangeAsync"/> until the returned source is completed.</summary>
    public TaskCompletionSource HoldNextRangeClaim() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _rangeClaims;

    /// <summary>How many range claims were asked for.</summary>
    public int RangeClaims => Volatile.Read(ref _rangeClaims);

    public async ValueTask<(long From, long To)?> ClaimRangeAsync(string user, string device, long head, int window, long deadline, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _rangeClaims);
        if (Interlocked.Exchange(ref _gate, null) is { } gate)
        {
            _held.TrySetResult();
            await gate.Task.ConfigureAwait(false);
        }
        return await inner.ClaimRangeAsync(user, device, head, window, deadline, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask ResetAsync(string user, string device, long cursor, CancellationToken cancellationToken = default) => inner.ResetAsync(user, device, cursor, cancellationToken);
    public ValueTask ForgetAsync(string user, string device, CancellationToken cancellationToken = default) => inner.ForgetAsync(user, device, cancellationToken);
    public ValueTask<bool> TryClaimAsync(string user, string device, long seq, int window, long deadline, CancellationToken cancellationToken = default) =>
        inner.TryClaimAsync(user, device, seq, window, deadline, cancellationToken);
    public ValueTask AckAsync(string user, string device, long seq, CancellationToken cancellationToken = default) => inner.AckAsync(user, device, seq, cancellationToken);
    public ValueTask<IReadOnlyList<PendingDelivery>> TakeExpiredAsync(long now, int maxAttempts, Func<int, long> nextDeadline, int max, CancellationToken cancellationToken = default) =>
        inner.TakeExpiredAsync(now, maxAttempts, nextDeadline, max, cancellationToken);
    public long Count => inner.Count;
}
