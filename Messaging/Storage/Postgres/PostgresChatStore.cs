using Npgsql;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// The PostgreSQL chat store as a unit: its schema (<see cref="PostgresMigrator"/>) and its batches, one transaction each
/// (<see cref="PostgresChatStoreBatch"/>). What it holds is read through <see cref="PostgresTimelineStore"/>,
/// <see cref="PostgresInboxStore"/>, <see cref="PostgresConversationIndex"/> and <see cref="PostgresCursorStore"/>.
/// A real multi-writer server: the sequence heads live in tables moved inside those transactions
/// (<c>conversation_heads</c>, <c>inbox_heads</c>), so no process caches a head it might no longer own, and the shared
/// <see cref="SequenceHeads"/> of the other engines is not used.
/// </summary>
public sealed class PostgresChatStore(NpgsqlDataSource dataSource, PostgresMigrator migrator) : IChatStore
{
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);

    public IChatStoreBatch BeginBatch() => new PostgresChatStoreBatch(dataSource);
}
