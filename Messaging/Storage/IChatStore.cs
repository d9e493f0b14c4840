using AspireChat.Messaging.Conversations;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The chat store port: conversation timelines, inboxes, device cursors, send dedup, and the per-user conversation
/// index with read and delivered positions (docs/protocol.md §12.8).
/// Every write is idempotent, so an at-least-once log yields exactly-once state (docs/protocol.md §9).
/// Sequence numbers are assigned here under the single-writer rule: only the owner of a
/// conversation's (or user's) log partition calls the append methods for it.
/// </summary>
public interface IChatStore : IChatWrites
{
    /// <summary>
    /// Starts a set of writes that become durable and visible together, on <see cref="IChatStoreBatch.CommitAsync"/>
    /// (the embedded composition's group commit). An adapter without atomic batches commits each call on its own:
    /// still correct, since every write is idempotent and nothing is acknowledged before the commit returns.
    /// </summary>
    IChatStoreBatch BeginBatch() => new ImmediateChatStoreBatch(this);

    /// <summary>Creates tables/collections and indexes; idempotent.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes send records older than <paramref name="olderThan"/> (Unix ms); returns how many.</summary>
    ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default);

    /// <summary>The user's highest inbox <c>seq</c>, 0 when the inbox is empty.</summary>
    ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Inbox entries with <c>seq</c> &gt; <paramref name="after"/>, ascending, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of a conversation ascending by <c>cseq</c>: with <paramref name="after"/>, the first
    /// <paramref name="limit"/> above it; otherwise the newest <paramref name="limit"/> below
    /// <paramref name="before"/> (or the newest of all).
    /// </summary>
    ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>The cursor recorded for a device from its acks; null for a device never seen.</summary>
    ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default);

    /// <summary>Moves a device's cursor forward to <paramref name="seq"/>; never backwards.</summary>
    ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default);

    /// <summary>Moves many devices' cursors forward at once (each never backwards).</summary>
    async ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        foreach (var (user, device, seq) in cursors) await AdvanceCursorAsync(user, device, seq, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A page of the user's conversation index, most recent activity first: rows whose activity is below
    /// <paramref name="before"/> (Unix ms; all when null), at most <paramref name="limit"/>. A read of the index, never
    /// of timelines.
    /// </summary>
    ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default);

    /// <summary>The user's index row and read position of <paramref name="conv"/> (zeros where there is none).</summary>
    ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the user's read position of <paramref name="conv"/> to <paramref name="cseq"/> with the count of others'
    /// messages up to it; never backwards (a position at or past <paramref name="cseq"/> stays). True when it moved.
    /// </summary>
    ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default);

    /// <summary>Moves the user's delivered positions forward (each never backwards); returns those that moved.</summary>
    ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default);

    /// <summary>The delivered and read positions of <paramref name="users"/> in <paramref name="conv"/> (0 where none), in order.</summary>
    ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default);

    /// <summary>
    /// The conversations of the user's inbox entries with <c>seq</c> in (<paramref name="after"/>, <paramref name="through"/>],
    /// each with the highest <c>cseq</c> among them (what a cumulative ack delivered).
    /// </summary>
    ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default);
}

/// <summary>The writes the pipeline stages make: send dedup (stage 0), timelines (stage 1), inboxes and the conversation index (stage 2).</summary>
public interface IChatWrites
{
    /// <summary>
    /// Records sends by (from, device, req). Returns, per candidate in order, the record that holds:
    /// the candidate itself when new, or the earlier record when that key was already reserved.
    /// </summary>
    ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores accepted messages in their timelines, assigning the next <c>cseq</c> of each conversation
    /// in list order. A message id already stored keeps its original <c>cseq</c> and is not stored twice.
    /// </summary>
    ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends inbox entries, assigning each user's next <c>seq</c> in list order. A (user, message id)
    /// already present keeps its original <c>seq</c> and comes back with <c>IsNew = false</c>.
    /// </summary>
    ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves each (user, conversation) row of the index to its message: last <c>cseq</c>, activity (the message's time,
    /// or 1 ms past the user's latest activity when that is not below it), and one more in the count of others' messages
    /// when someone else sent it with a type ≥ 0. A message at or below the row's last <c>cseq</c> changes nothing, so a
    /// replay is harmless.
    /// </summary>
    ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default);
}

/// <summary>Writes of one pipeline pass made durable together; reads inside the batch see its own writes.</summary>
public interface IChatStoreBatch : IChatWrites, IDisposable
{
    /// <summary>Makes every write of the batch durable and visible at once.</summary>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>A batch over a store without atomic batches: each write commits as it is made.</summary>
internal sealed class ImmediateChatStoreBatch(IChatStore store) : IChatStoreBatch
{
    public ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default) =>
        store.ReserveSendsAsync(candidates, cancellationToken);

    public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default) =>
        store.AppendMessagesAsync(accepted, cancellationToken);

    public ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        store.AppendInboxAsync(appends, cancellationToken);

    public ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        store.UpdateConversationsAsync(appends, cancellationToken);

    public ValueTask CommitAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}
