using AspireChat.Messaging.Conversations;
using Npgsql;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// The PostgreSQL chat store as a unit: its schema (<see cref="PostgresMigrator"/>) and its batches, one transaction each
/// (<see cref="PostgresChatStoreBatch"/>). A real multi-writer server: the sequence heads live in tables moved inside those
/// transactions (<c>conversation_heads</c>, <c>inbox_heads</c>), so no process caches a head it might no longer own.
/// </summary>
/// <remarks>Transitional: also serves the union of the narrow ports by delegating to <see cref="PostgresTimelineStore"/>,
/// <see cref="PostgresInboxStore"/>, <see cref="PostgresConversationIndex"/> and <see cref="PostgresCursorStore"/>.</remarks>
public sealed class PostgresChatStore(NpgsqlDataSource dataSource, PostgresMigrator migrator) : IChatStore
{
    private readonly PostgresTimelineStore _timeline = new(dataSource);
    private readonly PostgresInboxStore _inbox = new(dataSource);
    private readonly PostgresConversationIndex _index = new(dataSource);
    private readonly PostgresCursorStore _cursors = new(dataSource);

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);

    public IChatStoreBatch BeginBatch() => new PostgresChatStoreBatch(dataSource);

    // Writes outside a batch: a batch of one write.
    private async ValueTask<T> WriteAsync<T>(Func<IChatStoreBatch, ValueTask<T>> write, CancellationToken cancellationToken)
    {
        using var batch = BeginBatch();
        var result = await write(batch).ConfigureAwait(false);
        await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default) =>
        WriteAsync(b => b.ReserveSendsAsync(candidates, cancellationToken), cancellationToken);

    public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default) =>
        WriteAsync(b => b.AppendMessagesAsync(accepted, cancellationToken), cancellationToken);

    public ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        WriteAsync(b => b.AppendInboxAsync(appends, cancellationToken), cancellationToken);

    public async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        await WriteAsync(async b => { await b.UpdateConversationsAsync(appends, cancellationToken).ConfigureAwait(false); return 0; }, cancellationToken).ConfigureAwait(false);

    public ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default) =>
        _timeline.ReadConversationAsync(conv, before, after, limit, cancellationToken);

    public ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default) => _inbox.GetInboxHeadAsync(user, cancellationToken);

    public ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default) =>
        _inbox.ReadInboxAsync(user, after, limit, cancellationToken);

    public ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default) =>
        _inbox.ReadInboxPositionsAsync(user, after, through, cancellationToken);

    public ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default) =>
        _index.ListConversationsAsync(user, before, limit, cancellationToken);

    public ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default) =>
        _index.GetConversationAsync(user, conv, cancellationToken);

    public ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default) =>
        _index.AdvanceReadAsync(user, conv, cseq, othersAtRead, cancellationToken);

    public ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default) =>
        _index.AdvanceDeliveredAsync(user, positions, cancellationToken);

    public ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default) =>
        _index.GetReceiptsAsync(conv, users, cancellationToken);

    public ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default) => _cursors.GetCursorAsync(user, device, cancellationToken);

    public ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        _cursors.AdvanceCursorAsync(user, device, seq, cancellationToken);

    public ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default) =>
        _cursors.AdvanceCursorsAsync(cursors, cancellationToken);

    public ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default) =>
        _cursors.PurgeSendRecordsAsync(olderThan, cancellationToken);
}
