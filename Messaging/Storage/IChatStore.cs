using AspireChat.Messaging.Conversations;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The chat store as a unit: its schema and its batches. What it holds is read through the narrow ports beside it —
/// <see cref="ITimelineStore"/>, <see cref="IInboxStore"/>, <see cref="IConversationIndex"/>, <see cref="ICursorStore"/> —
/// and every pipeline write goes through a batch (<see cref="IChatWrites"/>): the embedded composition makes one per
/// pass, a distributed stage one per batch of the log, so each is one store transaction where the engine has them.
/// Every write is idempotent, so an at-least-once log yields exactly-once state (docs/protocol.md §9).
/// Sequence numbers are assigned under the single-writer rule: only the owner of a conversation's (or user's) log
/// partition appends for it; the heads it counts from are kept by <see cref="SequenceHeads"/>.
/// </summary>
public interface IChatStore
{
    /// <summary>
    /// Starts a set of writes that become durable and visible on <see cref="IChatStoreBatch.CommitAsync"/> — together,
    /// where the engine has atomic batches; an engine without them commits each call on its own (still correct, since
    /// every write is idempotent and nothing is acknowledged before the commit returns).
    /// </summary>
    IChatStoreBatch BeginBatch();

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
    /// The records held for these sends' keys (from, device, req), per key in order, or null where none is: reserves
    /// nothing. Stage 0 asks it for sends its rules refuse, so a retransmission of a send taken before the rule came to
    /// refuse it (an edit of a message since recalled, a send before its sender left) gets its original answer.
    /// </summary>
    ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken = default);

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

    /// <summary>
    /// Stores the states of messages after their operations (stage 1, docs/protocol.md §13), each replacing the one
    /// stored for its (conv, id); a state's <c>PinnedCseq</c> keeps the conversation's pins in order.
    /// </summary>
    ValueTask PutMessageStatesAsync(IReadOnlyList<Operations.MessageState> states, CancellationToken cancellationToken = default);

    /// <summary>
    /// Overwrites the <c>body</c> and <c>ex</c> of stored timeline entries at their (conv, cseq): a recall erases the
    /// content of a message and of its edits from the store, not only from the views.
    /// </summary>
    ValueTask ReplaceContentAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default);
}

/// <summary>Writes of one pipeline pass made durable together; reads inside the batch see its own writes.</summary>
public interface IChatStoreBatch : IChatWrites, IDisposable
{
    /// <summary>Makes every write of the batch durable and visible at once.</summary>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>A batch over an engine without atomic batches: each write commits as it is made.</summary>
internal sealed class ImmediateChatStoreBatch(IChatWrites writes) : IChatStoreBatch
{
    public ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default) =>
        writes.ReserveSendsAsync(candidates, cancellationToken);

    public ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken = default) =>
        writes.FindSendsAsync(keys, cancellationToken);

    public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default) =>
        writes.AppendMessagesAsync(accepted, cancellationToken);

    public ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        writes.AppendInboxAsync(appends, cancellationToken);

    public ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        writes.UpdateConversationsAsync(appends, cancellationToken);

    public ValueTask PutMessageStatesAsync(IReadOnlyList<Operations.MessageState> states, CancellationToken cancellationToken = default) =>
        writes.PutMessageStatesAsync(states, cancellationToken);

    public ValueTask ReplaceContentAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default) =>
        writes.ReplaceContentAsync(messages, cancellationToken);

    public ValueTask CommitAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}
