using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// The read and delivered positions of docs/protocol.md §12.8. A read position is one per (user, conversation), shared by the
/// user's devices, durable and never moving back; marking read tells the user's other devices (<c>read</c>) and the
/// other members (a coalesced <c>receipt</c>). A delivered position follows the user's devices' acks.
/// </summary>
public sealed class ReadPositions(
    IConversationIndex index, IInboxStore inbox, ITimelineStore timeline, ConversationMembership membership, DeviceSignals signals, ReceiptNotifier receipts)
{
    /// <summary>
    /// Marks <paramref name="conv"/> read through <paramref name="cseq"/> (a cseq past the newest is the newest).
    /// Returns the access verdict; when allowed and the position moved, the other devices and members are told.
    /// </summary>
    public async ValueTask<ConversationAccess> MarkReadAsync(string user, string device, string conv, long cseq, CancellationToken cancellationToken = default)
    {
        var access = await membership.CheckAsync(user, conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) return access;
        cseq = Math.Min(cseq, access.Head);
        var state = await index.GetConversationAsync(user, conv, cancellationToken).ConfigureAwait(false);
        if (cseq <= state.Read) return access;

        // A large group has no index row to count against: its unread count is taken from the timeline (decision 0010).
        var othersAtRead = access.Large ? 0 : await OthersAtAsync(state, cseq, cancellationToken).ConfigureAwait(false);
        if (!await index.AdvanceReadAsync(user, conv, cseq, othersAtRead, cancellationToken).ConfigureAwait(false)) return access;

        await signals.SendAsync(user, new ReadFrame { Conv = conv, Cseq = cseq }, exceptDevice: device, cancellationToken).ConfigureAwait(false);
        if (!access.Large) receipts.Changed(conv, user, read: true);
        return access;
    }

    /// <summary>
    /// A device's cumulative inbox ack from <paramref name="after"/> through <paramref name="through"/>: the delivered
    /// positions it covers, written (and sent as receipts) at the next flush of <see cref="ReceiptNotifier"/>.
    /// </summary>
    public async ValueTask DeliveredAsync(string user, long after, long through, CancellationToken cancellationToken = default)
    {
        if (through <= after) return;
        Delivered(user, await inbox.ReadInboxPositionsAsync(user, after, through, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The same for an ack whose entries' positions the caller knows (those it handed the device).</summary>
    public void Delivered(string user, IReadOnlyList<ConversationPosition> positions)
    {
        foreach (var position in positions) receipts.Delivered(user, position.Conv, position.Cseq);
    }

    /// <summary>A large group's <c>ack {group, cseq}</c>: recorded for the receipts query; large groups get no receipt frames.</summary>
    public ValueTask GroupDeliveredAsync(string user, string gid, long cseq, CancellationToken cancellationToken = default) =>
        cseq <= 0 ? ValueTask.CompletedTask
            : IgnoreResult(index.AdvanceDeliveredAsync(user, [new ConversationPosition(Identifiers.GroupConversation(gid), cseq)], cancellationToken));

    private static async ValueTask IgnoreResult(ValueTask<IReadOnlyList<ConversationPosition>> task) => await task.ConfigureAwait(false);

    // The count of others' messages up to cseq, from the index row's count at its last cseq and the messages in
    // between (a read is usually of the newest message, so usually none).
    private async ValueTask<long> OthersAtAsync(ConversationState state, long cseq, CancellationToken cancellationToken)
    {
        if (cseq == state.LastCseq) return state.Others;
        var (from, to) = cseq > state.LastCseq ? (state.LastCseq, cseq) : (cseq, state.LastCseq);
        long between = 0;
        for (var after = from; after < to;)
        {
            var page = await timeline.ReadConversationAsync(state.Conv, null, after, (int)Math.Min(500, to - after), cancellationToken).ConfigureAwait(false);
            if (page.Count == 0) break;
            foreach (var message in page)
            {
                if (message.Cseq > to) break;
                if (message.From != state.User && message.Type >= 0) between++;
            }
            after = page[^1].Cseq;
        }
        return cseq > state.LastCseq ? state.Others + between : Math.Max(0, state.Others - between);
    }
}
