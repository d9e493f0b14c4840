using AspireChat.Messaging.Conversations;

namespace AspireChat.Messaging.Storage;

/// <summary>Per-user inboxes: entries by <c>seq</c> (written by stage 2 through <see cref="IChatWrites"/>), read by hello, sync and acks.</summary>
public interface IInboxStore
{
    /// <summary>
    /// The user's highest inbox <c>seq</c> as stored, 0 when the inbox is empty — never a writer's cached head
    /// (<see cref="SequenceHeads"/>), so any process may ask.
    /// </summary>
    ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Inbox entries with <c>seq</c> &gt; <paramref name="after"/>, ascending, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The conversations of the user's inbox entries with <c>seq</c> in (<paramref name="after"/>, <paramref name="through"/>],
    /// each with the highest <c>cseq</c> among them (what a cumulative ack delivered).
    /// </summary>
    ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default);
}
