using AspireChat.Messaging.Conversations;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The per-user conversation index with read and delivered positions (docs/protocol.md §12.8); stage 2 moves its rows
/// through <see cref="IChatWrites.UpdateConversationsAsync"/>.
/// </summary>
public interface IConversationIndex
{
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
}
