using AspireChat.Messaging.Storage.Postgres;
using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Consent;

/// <summary>
/// Consent in PostgreSQL: <c>blocks</c> (blocker, blocked; indexed by blocked too) and <c>mutes</c> (user, conversation;
/// indexed by conversation too), in the chat store's database. Set queries take the whole set as one array parameter.
/// </summary>
public sealed class PostgresConsentStore(NpgsqlDataSource dataSource, PostgresMigrator migrator) : IConsentStore
{
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> BlockAsync(string blocker, string blocked, long since, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("INSERT INTO blocks(blocker, blocked, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", cancellationToken,
            Parameter(blocker), Parameter(blocked), Parameter(since)).ConfigureAwait(false) == 1;

    public async ValueTask<bool> UnblockAsync(string blocker, string blocked, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM blocks WHERE blocker = $1 AND blocked = $2", cancellationToken, Parameter(blocker), Parameter(blocked)).ConfigureAwait(false) == 1;

    public async ValueTask<IReadOnlyList<BlockEntry>> GetBlocksAsync(string blocker, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT blocked, since FROM blocks WHERE blocker = $1 ORDER BY blocked COLLATE \"C\"");
        command.Parameters.Add(Parameter(blocker));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, r => new BlockEntry(r.GetString(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> IsBlockedAsync(string blocker, string blocked, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2");
        command.Parameters.Add(Parameter(blocker));
        command.Parameters.Add(Parameter(blocked));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public ValueTask<IReadOnlySet<string>> FindBlockersAsync(string blocked, IReadOnlyCollection<string> among, CancellationToken cancellationToken = default) =>
        FindAsync("SELECT blocker FROM blocks WHERE blocked = $1 AND blocker = ANY($2)", blocked, among, cancellationToken);

    public async ValueTask SetMutedAsync(string user, string conv, bool muted, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(muted
                ? "INSERT INTO mutes(user_id, conv) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                : "DELETE FROM mutes WHERE user_id = $1 AND conv = $2",
            cancellationToken, Parameter(user), Parameter(conv)).ConfigureAwait(false);

    public ValueTask<IReadOnlySet<string>> FindMutedConversationsAsync(string user, IReadOnlyCollection<string> convs, CancellationToken cancellationToken = default) =>
        FindAsync("SELECT conv FROM mutes WHERE user_id = $1 AND conv = ANY($2)", user, convs, cancellationToken);

    public ValueTask<IReadOnlySet<string>> FindMutedUsersAsync(string conv, IReadOnlyCollection<string> users, CancellationToken cancellationToken = default) =>
        FindAsync("SELECT user_id FROM mutes WHERE conv = $1 AND user_id = ANY($2)", conv, users, cancellationToken);

    // One round trip for the whole set, however large: it travels as one text[] parameter.
    private async ValueTask<IReadOnlySet<string>> FindAsync(string sql, string key, IReadOnlyCollection<string> values, CancellationToken cancellationToken)
    {
        if (values.Count == 0) return new HashSet<string>(StringComparer.Ordinal);
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(Parameter(key));
        command.Parameters.Add(Parameter(values.Distinct(StringComparer.Ordinal).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return (await ReadAllAsync(reader, r => r.GetString(0), cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
    }

    private async ValueTask<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
