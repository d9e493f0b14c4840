namespace AspireChat.Messaging.Operations;

/// <summary>
/// The state of messages after their operations (docs/protocol.md §13), written by stage 1 through
/// <see cref="Storage.IChatWrites.PutMessageStatesAsync"/> and read by the views (history, one message, pins, the list).
/// </summary>
public interface IMessageStateStore
{
    /// <summary>The states of the messages <paramref name="ids"/> of <paramref name="conv"/> that have one (a message no operation touched has none).</summary>
    ValueTask<IReadOnlyDictionary<long, MessageState>> GetStatesAsync(string conv, IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default);

    /// <summary>The pinned messages of <paramref name="conv"/>, most recently pinned first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<MessageState>> GetPinnedAsync(string conv, int limit, CancellationToken cancellationToken = default);
}
