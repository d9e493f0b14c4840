namespace AspireChat.Messaging.Push;

/// <summary>The push subscription port: one subscription per (user, device).</summary>
public interface IPushSubscriptionStore
{
    /// <summary>Creates what the adapter needs (tables, indexes); idempotent.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Saves the device's subscription, replacing the one it had.</summary>
    ValueTask SaveAsync(PushSubscription subscription, CancellationToken cancellationToken = default);

    /// <summary>The user's subscriptions, by device.</summary>
    ValueTask<IReadOnlyList<PushSubscription>> GetAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the user's subscriptions that match <paramref name="device"/> and <paramref name="endpoint"/>
    /// (a null criterion matches any); returns how many went. Never touches another user's subscriptions.
    /// </summary>
    ValueTask<int> RemoveAsync(string user, string? device, string? endpoint, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes <paramref name="subscription"/> because its provider reported it gone — unless the device has
    /// since registered a different one. True when it was removed.
    /// </summary>
    ValueTask<bool> RemoveGoneAsync(PushSubscription subscription, CancellationToken cancellationToken = default);

    /// <summary>Records an attempt on <paramref name="subscription"/>, if the device still has it.</summary>
    ValueTask RecordAttemptAsync(PushSubscription subscription, long at, PushResult result, CancellationToken cancellationToken = default);
}
