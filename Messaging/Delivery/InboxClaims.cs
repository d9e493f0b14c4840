using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// The device sessions' side of delivery (decision 0011): what a device has been handed and not yet acknowledged, in
/// <see cref="IPendingAcks"/>, and the inbox reads its hand-over makes. A session claims an entry in the same turn that
/// writes it (<see cref="InboxHandover"/>), so its device gets its inbox in <c>seq</c> order within the window.
/// </summary>
public sealed class InboxClaims(
    IInboxStore inbox, ICursorStore cursorStore, IPendingAcks pending, CursorRecorder cursors, SequenceHeads heads, IOptions<DeliveryOptions> options,
    TimeProvider time)
{
    private readonly DeliveryOptions _options = options.Value;

    /// <summary>The cursor recorded for the device (from its acks); null for a device never seen.</summary>
    public ValueTask<long?> CursorAsync(string user, string device, CancellationToken cancellationToken = default) => cursors.GetAsync(user, device, cancellationToken);

    /// <summary>A device's first hello records it as seen, at <paramref name="cursor"/>: later hellos tell a known device from a new one.</summary>
    public ValueTask RecordFirstHelloAsync(string user, string device, long cursor, CancellationToken cancellationToken = default) =>
        cursorStore.AdvanceCursorAsync(user, device, cursor, cancellationToken);

    /// <summary>The user's inbox head.</summary>
    public ValueTask<long> HeadAsync(string user, CancellationToken cancellationToken = default) => inbox.GetInboxHeadAsync(user, cancellationToken);

    /// <summary>A page of the user's inbox after <paramref name="after"/> (sync).</summary>
    public ValueTask<IReadOnlyList<InboxEntry>> ReadAsync(string user, long after, int limit, CancellationToken cancellationToken = default) =>
        inbox.ReadInboxAsync(user, after, limit, cancellationToken);

    /// <summary>Starts tracking a device that said hello with <paramref name="cursor"/>: nothing is pending for it.</summary>
    public ValueTask ResetAsync(string user, string device, long cursor, CancellationToken cancellationToken = default) =>
        pending.ResetAsync(user, device, cursor, cancellationToken);

    /// <summary>Stops tracking a device that went away.</summary>
    public ValueTask ForgetAsync(string user, string device, CancellationToken cancellationToken = default) =>
        pending.ForgetAsync(user, device, cancellationToken);

    /// <summary>Claims a live entry for the device: true when it is the next after the device's last claim and the window has room.</summary>
    public ValueTask<bool> ClaimLiveAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        pending.TryClaimAsync(user, device, seq, _options.Window, PendingDeadline.Of(_options, time, 0), cancellationToken);

    /// <summary>
    /// Claims and reads the entries a device should be handed now: those after its last claim, up to the inbox head
    /// (<paramref name="head"/> when the caller just read it) and the window's room.
    /// </summary>
    public async ValueTask<IReadOnlyList<InboxEntry>> ClaimBacklogAsync(string user, string device, long? head = null, CancellationToken cancellationToken = default)
    {
        head ??= await inbox.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        var range = await pending.ClaimRangeAsync(user, device, head.Value, _options.Window, PendingDeadline.Of(_options, time, 0), cancellationToken).ConfigureAwait(false);
        if (range is not var (from, to)) return [];
        return await inbox.ReadInboxAsync(user, from - 1, (int)(to - from + 1), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A device's cumulative ack: clears its pending entries and moves its recorded cursor forward, never past the inbox
    /// head. Returns the acknowledged seq (clamped to the head) and the head.
    /// </summary>
    public async ValueTask<(long Acked, long Head)> AcknowledgeAsync(string user, string device, long seq, CancellationToken cancellationToken = default)
    {
        // Where this process writes the inbox (embedded), its cached head is what it committed: no store read per ack. A
        // cached head is never above the stored one, so at worst an ack is clamped low and its entries are pushed again.
        var head = heads.Inboxes.TryGet(user, out var cached) ? cached : await inbox.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        seq = Math.Min(seq, head);
        await pending.AckAsync(user, device, seq, cancellationToken).ConfigureAwait(false);
        if (seq > 0) cursors.Record(user, device, seq);
        return (seq, head);
    }
}
