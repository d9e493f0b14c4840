using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Stage 2's side of delivery (docs/protocol.md §8, decision 0011): routes each new inbox entry to the gateway nodes of
/// its user's online devices, and routes again the entries whose ack deadline passed, to whichever node holds the device
/// now. What a node does with a routed entry — claim it and write it — is the device session's
/// (<see cref="InboxHandover"/>).
/// </summary>
public sealed class InboxRouter(
    IInboxStore inbox, IPresenceStore presence, IPendingAcks pending, IDeliveryRouter router, IOptions<DeliveryOptions> options, TimeProvider time)
{
    private readonly DeliveryOptions _options = options.Value;

    /// <summary>Routes a new entry to each online device of its user. False when none is online.</summary>
    public async ValueTask<bool> RouteAsync(InboxEntry entry, CancellationToken cancellationToken = default)
    {
        var devices = await presence.GetDevicesAsync(entry.User, cancellationToken).ConfigureAwait(false);
        if (devices.Count == 0) return false;
        IReadOnlyList<InboxEntry> single = [entry];
        foreach (var device in devices)
            await router.RouteAsync(device.Node, entry.User, device.Device, single, cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Routes the entries past their deadline again, to whichever node holds the device now; returns how many.</summary>
    public async ValueTask<int> RetryExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var expired = await pending.TakeExpiredAsync(now, _options.MaxAttempts, attempt => PendingDeadline.Of(_options, time, attempt), 10_000, cancellationToken)
            .ConfigureAwait(false);
        if (expired.Count == 0) return 0;
        var retried = 0;
        foreach (var group in expired.GroupBy(e => (e.User, e.Device)))
        {
            var devices = await presence.GetDevicesAsync(group.Key.User, cancellationToken).ConfigureAwait(false);
            var node = devices.FirstOrDefault(d => d.Device == group.Key.Device)?.Node;
            if (node is null) continue;
            var seqs = group.Select(e => e.Seq).Order().ToList();
            var entries = await inbox.ReadInboxAsync(group.Key.User, seqs[0] - 1, (int)(seqs[^1] - seqs[0] + 1), cancellationToken).ConfigureAwait(false);
            var wanted = entries.Where(e => seqs.BinarySearch(e.Seq) >= 0).ToList();
            if (await router.RouteAsync(node, group.Key.User, group.Key.Device, wanted, redelivery: true, cancellationToken).ConfigureAwait(false))
                retried += wanted.Count;
        }
        return retried;
    }
}
