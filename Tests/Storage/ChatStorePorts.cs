using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>
/// An engine's chat store as the contract suites use it: each read goes to the port it belongs to, and each of the
/// pipeline's writes goes through a batch of its own (<see cref="IChatStore.BeginBatch"/>), committed before it returns.
/// </summary>
public sealed class ChatStorePorts(IChatStore store, ITimelineStore timeline, IInboxStore inbox, IConversationIndex conversations, ICursorStore cursors, SequenceHeads heads,
    IndexWritePause? indexWrites = null)
{
    /// <summary>
    /// The pause between the read and the write of this instance's conversation index updates, where an engine makes
    /// them in separate round trips (MongoDB); an engine that writes what it read in one step never reaches it.
    /// </summary>
    public IndexWritePause IndexWrites { get; } = indexWrites ?? new IndexWritePause();

    public IChatStore Store => store;
    public ITimelineStore Timeline => timeline;
    public IInboxStore Inbox => inbox;
    public IConversationIndex Conversations => conversations;
    public ICursorStore Cursors => cursors;
    public Messaging.Operations.IMessageStateStore States { get; init; } = null!;

    /// <summary>The heads this instance counts from: its own, as a worker process's are.</summary>
    public SequenceHeads Heads => heads;

    public ValueTask InitializeAsync() => store.InitializeAsync();
    public IChatStoreBatch BeginBatch() => store.BeginBatch();

    public Task<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates) => store.ReserveSendsAsync(candidates);
    public Task<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys) => store.FindSendsAsync(keys);
    public Task<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted) => store.AppendMessagesAsync(accepted);
    public Task<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends) => store.AppendInboxAsync(appends);
    public Task UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends) => store.UpdateConversationsAsync(appends);

    public ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit) => timeline.ReadConversationAsync(conv, before, after, limit);

    public ValueTask<long> GetInboxHeadAsync(string user) => inbox.GetInboxHeadAsync(user);
    public ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit) => inbox.ReadInboxAsync(user, after, limit);
    public ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through) => inbox.ReadInboxPositionsAsync(user, after, through);

    public ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit) => conversations.ListConversationsAsync(user, before, limit);
    public ValueTask<ConversationState> GetConversationAsync(string user, string conv) => conversations.GetConversationAsync(user, conv);
    public ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead) => conversations.AdvanceReadAsync(user, conv, cseq, othersAtRead);
    public ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions) => conversations.AdvanceDeliveredAsync(user, positions);
    public ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users) => conversations.GetReceiptsAsync(conv, users);

    public ValueTask<long?> GetCursorAsync(string user, string device) => cursors.GetCursorAsync(user, device);
    public ValueTask AdvanceCursorAsync(string user, string device, long seq) => cursors.AdvanceCursorAsync(user, device, seq);
    public ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> list) => cursors.AdvanceCursorsAsync(list);
    public ValueTask<long> PurgeSendRecordsAsync(long olderThan) => cursors.PurgeSendRecordsAsync(olderThan);
}
