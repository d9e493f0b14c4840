using Npgsql;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// One transaction of the PostgreSQL store: a stage batch's writes, each one round trip, committed together.
/// The connection is taken from the pool at the first write; disposing without a commit rolls everything back.
/// </summary>
public sealed class PostgresChatStoreBatch(NpgsqlDataSource dataSource) : IChatStoreBatch
{
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;

    public async ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default) =>
        candidates.Count == 0 ? [] : await PostgresCursorStore.ReserveSendsAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, candidates, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken = default) =>
        keys.Count == 0 ? [] : await PostgresCursorStore.FindSendsAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, keys, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default) =>
        accepted.Count == 0 ? [] : await PostgresTimelineStore.AppendMessagesAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, accepted, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
        appends.Count == 0 ? [] : await PostgresInboxStore.AppendInboxAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, appends, cancellationToken).ConfigureAwait(false);

    public async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return;
        await PostgresConversationIndex.UpdateConversationsAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, appends, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask PutMessageStatesAsync(IReadOnlyList<Operations.MessageState> states, CancellationToken cancellationToken = default)
    {
        if (states.Count == 0) return;
        await Operations.PostgresMessageStateStore.PutAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, states, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask ReplaceContentAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0) return;
        await PostgresTimelineStore.ReplaceContentAsync(await ConnectionAsync(cancellationToken).ConfigureAwait(false), _transaction, messages, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_transaction is null) return;
        await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        await _transaction.DisposeAsync().ConfigureAwait(false);
        _transaction = null;
    }

    private async ValueTask<NpgsqlConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is not null) return _connection;
        _connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // BEGIN travels with the first statement: no round trip of its own.
        _transaction = await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        return _connection;
    }

    public void Dispose()
    {
        // An uncommitted transaction rolls back when its connection goes back to the pool.
        _transaction?.Dispose();
        _connection?.Dispose();
        (_transaction, _connection) = (null, null);
    }
}
