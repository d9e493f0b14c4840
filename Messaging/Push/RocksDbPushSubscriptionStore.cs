using System.Text.Json;
using AspireChat.Messaging.Storage;

namespace AspireChat.Messaging.Push;

/// <summary>The embedded push subscription store: <c>Q</c> (user, device) → subscription, beside the chat store in RocksDB.</summary>
public sealed class RocksDbPushSubscriptionStore(RocksDbDatabase database) : IPushSubscriptionStore
{
    private const byte Subscription = (byte)'Q';
    private readonly Lock _writeLock = new();

    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask SaveAsync(PushSubscription subscription, CancellationToken cancellationToken = default)
    {
        lock (_writeLock) Put(subscription with { LastAttempt = null });
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<PushSubscription>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        var subscriptions = new List<PushSubscription>();
        foreach (var (_, value) in database.Scan(new KeyBuilder(Subscription).Text(user).ToArray()))
            subscriptions.Add(JsonSerializer.Deserialize(value, MessagingJson.Default.PushSubscription)!);
        return ValueTask.FromResult<IReadOnlyList<PushSubscription>>(subscriptions);
    }

    public async ValueTask<int> RemoveAsync(string user, string? device, string? endpoint, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        var subscriptions = await GetAsync(user, cancellationToken).ConfigureAwait(false);
        lock (_writeLock)
        {
            foreach (var s in subscriptions)
            {
                if ((device is not null && s.Device != device) || (endpoint is not null && s.Endpoint != endpoint)) continue;
                database.Remove(Key(s.User, s.Device));
                removed++;
            }
        }
        return removed;
    }

    public ValueTask<bool> RemoveGoneAsync(PushSubscription subscription, CancellationToken cancellationToken = default)
    {
        lock (_writeLock)
        {
            if (Current(subscription) is null) return ValueTask.FromResult(false);
            database.Remove(Key(subscription.User, subscription.Device));
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask RecordAttemptAsync(PushSubscription subscription, long at, PushResult result, CancellationToken cancellationToken = default)
    {
        lock (_writeLock)
        {
            if (Current(subscription) is not { } current) return ValueTask.CompletedTask;
            var failures = result.Outcome == PushOutcome.Delivered ? 0 : (current.LastAttempt?.Failures ?? 0) + 1;
            Put(current with { LastAttempt = new PushAttempt(at, result.Outcome, result.Status, failures) });
        }
        return ValueTask.CompletedTask;
    }

    // The device's stored subscription when it is still the same one (kind and endpoint).
    private PushSubscription? Current(PushSubscription s) =>
        database.Get(Key(s.User, s.Device)) is { } value && JsonSerializer.Deserialize(value, MessagingJson.Default.PushSubscription) is { } stored
            && stored.Kind == s.Kind && stored.Endpoint == s.Endpoint ? stored : null;

    private void Put(PushSubscription s) => database.Put(Key(s.User, s.Device), JsonSerializer.SerializeToUtf8Bytes(s, MessagingJson.Default.PushSubscription));

    private static byte[] Key(string user, string device) => new KeyBuilder(Subscription).Text(user).Text(device).ToArray();
}
