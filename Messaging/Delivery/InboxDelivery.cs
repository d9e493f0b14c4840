using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Moves inbox entries to devices (docs/protocol.md §8, decision 0011): stage 2 routes each new entry to the nodes of its
/// user's online devices; each device's <see cref="DeviceSession"/> claims what it writes in <see cref="IPendingAcks"/>
/// (contiguous claims within the window: the device gets its inbox in <c>seq</c> order); the retry loop pushes entries
/// past their ack deadline again.
/// </summary>
public sealed class InboxDelivery(
    IInboxStore store, IPresenceStore presence, IPendingAcks pending, IDeliveryRouter router, CursorRecorder cursors,
    IOptions<DeliveryOptions> options, TimeProvider time)
{
    private readonly DeliveryOptions _options = options.Value;

    /// <summary>Stage 2: routes a new entry to each online device of its user. False when none is online.</summary>
    public async ValueTask<bool> DeliverAsync(InboxEntry entry, CancellationToken cancellationToken = default)
    {
        var devices = await presence.GetDevicesAsync(entry.User, cancellationToken).ConfigureAwait(false);
        if (devices.Count == 0) return false;
        IReadOnlyList<InboxEntry> single = [entry];
        foreach (var device in devices)
            await router.RouteAsync(device.Node, entry.User, device.Device, single, cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Starts tracking a device that said hello with <paramref name="cursor"/>: nothing is pending for it.</summary>
    public ValueTask ResetAsync(string user, string device, long cursor, CancellationToken cancellationToken = default) =>
        pending.ResetAsync(user, device, cursor, cancellationToken);

    /// <summary>Stops tracking a device that went away.</summary>
    public ValueTask ForgetAsync(string user, string device, CancellationToken cancellationToken = default) =>
        pending.ForgetAsync(user, device, cancellationToken);

    /// <summary>Claims a live entry for the device: true when it is the next after the device's last claim and the window has room.</summary>
    public ValueTask<bool> ClaimLiveAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        pending.TryClaimAsync(user, device, seq, _options.Window, Deadline(0), cancellationToken);

    /// <summary>
    /// Claims and reads the entries a device should be pushed now: those after its last claim, up to the inbox head
    /// (<paramref name="head"/> when the caller just read it) and the window's room.
    /// </summary>
    public async ValueTask<IReadOnlyList<InboxEntry>> ClaimBacklogAsync(string user, string device, long? head = null, CancellationToken cancellationToken = default)
    {
        head ??= await store.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        var range = await pending.ClaimRangeAsync(user, device, head.Value, _options.Window, Deadline(0), cancellationToken).ConfigureAwait(false);
        if (range is not var (from, to)) return [];
        return await store.ReadInboxAsync(user, from - 1, (int)(to - from + 1), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A device's cumulative ack: clears its pending entries and moves its recorded cursor forward, never past the inbox
    /// head. Returns the acknowledged seq (clamped to the head) and the head.
    /// </summary>
    public async ValueTask<(long Acked, long Head)> AcknowledgeAsync(string user, string device, long seq, CancellationToken cancellationToken = default)
    {
        var head = await store.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        seq = Math.Min(seq, head);
        await pending.AckAsync(user, device, seq, cancellationToken).ConfigureAwait(false);
        if (seq > 0) cursors.Record(user, device, seq);
        return (seq, head);
    }

    /// <summary>Re-pushes entries past their deadline to whichever node holds the device now; returns how many.</summary>
    public async ValueTask<int> RetryExpiredAsync(CancellationToken cancellationToken = default)
    {
        var expired = await pending.TakeExpiredAsync(Now, _options.MaxAttempts, Deadline, 10_000, cancellationToken).ConfigureAwait(false);
        if (expired.Count == 0) return 0;
        var retried = 0;
        foreach (var group in expired.GroupBy(e => (e.User, e.Device)))
        {
            var devices = await presence.GetDevicesAsync(group.Key.User, cancellationToken).ConfigureAwait(false);
            var node = devices.FirstOrDefault(d => d.Device == group.Key.Device)?.Node;
            if (node is null) continue;
            var seqs = group.Select(e => e.Seq).Order().ToList();
            var entries = await store.ReadInboxAsync(group.Key.User, seqs[0] - 1, (int)(seqs[^1] - seqs[0] + 1), cancellationToken).ConfigureAwait(false);
            var wanted = entries.Where(e => seqs.BinarySearch(e.Seq) >= 0).ToList();
            if (await router.RouteAsync(node, group.Key.User, group.Key.Device, wanted, redelivery: true, cancellationToken).ConfigureAwait(false))
                retried += wanted.Count;
        }
        return retried;
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    // Backoff: the ack timeout doubles with each attempt.
    private long Deadline(int attempt) => Now + (long)(_options.AckTimeout.TotalMilliseconds * (1L << Math.Min(attempt, 10)));
}
