using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Registers and removes devices' push subscriptions (the HTTP API's side): checks the device, the kind (known and
/// enabled here) and the provider's rules for endpoint and keys before anything is stored.
/// </summary>
public sealed class PushRegistry(IPushSubscriptionStore store, IEnumerable<IPushProvider> providers, TimeProvider time, IOptions<PushOptions> options)
{
    private readonly Dictionary<string, IPushProvider> _providers = providers.ToDictionary(p => p.Kind, StringComparer.Ordinal);

    /// <summary>The kinds this server can deliver to.</summary>
    public IReadOnlyCollection<string> EnabledKinds => _providers.Keys;

    /// <summary>Stores the device's subscription (replacing its previous one); the stored form, or why it was refused.</summary>
    public async ValueTask<PushCheck> SubscribeAsync(string user, PushSubscriptionRequest request, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.IsValidDevice(request.Device)) return PushCheck.Refuse("'device' must be 1–64 printable characters");
        if (string.IsNullOrEmpty(request.Kind) || !PushKinds.All.Contains(request.Kind, StringComparer.Ordinal))
            return PushCheck.Refuse($"'kind' must be one of {string.Join(", ", PushKinds.All)}");
        if (!_providers.TryGetValue(request.Kind, out var provider))
            return PushCheck.Refuse($"push kind '{request.Kind}' is not enabled on this server (enabled: {string.Join(", ", _providers.Keys.Order(StringComparer.Ordinal))})");

        var requested = new PushSubscription(user, request.Device!, request.Kind, request.Endpoint ?? "", request.Keys?.P256dh, request.Keys?.Auth,
            time.GetUtcNow().ToUnixTimeMilliseconds());
        var check = provider.Check(requested);
        if (check.Accepted is { } accepted)
        {
            await MakeRoomAsync(user, accepted.Device, cancellationToken).ConfigureAwait(false);
            await store.SaveAsync(accepted, cancellationToken).ConfigureAwait(false);
        }
        return check;
    }

    // At most Push:MaxSubscriptionsPerUser per user: a new device's subscription replaces the oldest ones, so one user cannot
    // make a single message fan out into an unbounded number of outgoing requests.
    private async ValueTask MakeRoomAsync(string user, string device, CancellationToken cancellationToken)
    {
        var existing = await store.GetAsync(user, cancellationToken).ConfigureAwait(false);
        var others = existing.Where(s => s.Device != device).OrderBy(s => s.Created).ToList();
        var max = Math.Max(1, options.Value.MaxSubscriptionsPerUser);
        for (var i = 0; i < others.Count - (max - 1); i++)
            await store.RemoveAsync(user, others[i].Device, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The user's own subscriptions.</summary>
    public ValueTask<IReadOnlyList<PushSubscription>> ListAsync(string user, CancellationToken cancellationToken = default) =>
        store.GetAsync(user, cancellationToken);

    /// <summary>Removes the user's own subscriptions matching device and/or endpoint; how many went.</summary>
    public ValueTask<int> UnsubscribeAsync(string user, string? device, string? endpoint, CancellationToken cancellationToken = default) =>
        store.RemoveAsync(user, device, endpoint, cancellationToken);
}
