namespace AspireChat.Messaging.Storage;

/// <summary>Conversation timelines: every message and event of a conversation by <c>cseq</c> (written by stage 1 through <see cref="IChatWrites"/>).</summary>
public interface ITimelineStore
{
    /// <summary>
    /// A page of a conversation ascending by <c>cseq</c>: with <paramref name="after"/>, the first
    /// <paramref name="limit"/> above it; otherwise the newest <paramref name="limit"/> below
    /// <paramref name="before"/> (or the newest of all).
    /// </summary>
    ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>The message <paramref name="id"/> of <paramref name="conv"/>; null when there is none in that conversation.</summary>
    ValueTask<ChatMessage?> GetMessageAsync(string conv, long id, CancellationToken cancellationToken = default);
}
