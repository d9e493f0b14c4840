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

    /// <summary>
    /// Routes new entries to the online devices of their users; for each entry, whether one was online. A batch costs what
    /// one entry costs: the users' presence is read concurrently (one pipelined round trip to Redis), and each device gets
    /// its entries of the batch in one hand-over, in their order, all hand-overs sent concurrently.
    /// </summary>
    public async ValueTask<bool[]> RouteAsync(IReadOnlyList<InboxEntry> entries, CancellationToken cancellationToken = default)
    {
        var online = new bool[entries.Count];
        if (entries.Count == 0) return online;
        var users = entries.Select(e => e.User).Distinct(StringComparer.Ordinal).ToList();
        var lookups = users.Select(user => presence.GetDevicesAsync(user, cancellationToken).AsTask()).ToList();
        await Task.WhenAll(lookups).ConfigureAwait(false);
        var devicesOf = new Dictionary<string, IReadOnlyList<DevicePresence>>(users.Count, StringComparer.Ordinal);
        for (var i = 0; i < users.Count; i++) devicesOf[users[i]] = lookups[i].Result;

        var handovers = new Dictionary<(string Node, string User, string Device), List<InboxEntry>>();
        for (var i = 0; i < entries.Count; i++)
        {
            var devices = devicesOf[entries[i].User];
            online[i] = devices.Count > 0;
            foreach (var device in devices)
            {
                if (!handovers.TryGetValue((device.Node, entries[i].User, device.Device), out var list))
                    handovers[(device.Node, entries[i].User, device.Device)] = list = [];
                list.Add(entries[i]);
            }
        }
        await Task.WhenAll(handovers.Select(h => router.RouteAsync(h.Key.Node, h.Key.User, h.Key.Device, h.Value, cancellationToken: cancellationToken).AsTask()))
            .ConfigureAwait(false);
        return online;
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
