using AspireChat.Messaging.Conversations;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The chat store as a whole: its schema and its atomic batches. What it holds is read and written through the narrow
/// ports beside it — <see cref="ITimelineStore"/>, <see cref="IInboxStore"/>, <see cref="IConversationIndex"/>,
/// <see cref="ICursorStore"/> — and the pipeline's writes go through <see cref="IChatWrites"/>.
/// Every write is idempotent, so an at-least-once log yields exactly-once state (docs/protocol.md §9).
/// Sequence numbers are assigned here under the single-writer rule: only the owner of a
/// conversation's (or user's) log partition calls the append methods for it.
/// </summary>
/// <remarks>Transitional: still the union of the narrow ports, until every adapter implements them one by one.</remarks>
public interface IChatStore : IChatWrites, ITimelineStore, IInboxStore, IConversationIndex, ICursorStore
{
    /// <summary>
    /// Starts a set of writes that become durable and visible together, on <see cref="IChatStoreBatch.CommitAsync"/>
    /// (the embedded composition's group commit). An adapter without atomic batches commits each call on its own:
    /// still correct, since every write is idempotent and nothing is acknowledged before the commit returns.
    /// </summary>
    IChatStoreBatch BeginBatch() => new ImmediateChatStoreBatch(this);

    /// <summary>Creates tables/collections and indexes; idempotent.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);
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
