using AspireChat.Messaging.Storage.Postgres;
using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Push;

/// <summary>Push subscriptions in PostgreSQL: <c>push_subscriptions</c>, one row per (user, device), in the chat store's database.</summary>
public sealed class PostgresPushSubscriptionStore(NpgsqlDataSource dataSource, PostgresMigrator migrator) : IPushSubscriptionStore
{
    private const string Columns = "user_id, device, kind, endpoint, p256dh, auth, created, last_attempt, last_outcome, last_status, failures";

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask SaveAsync(PushSubscription s, CancellationToken cancellationToken = default) =>
        await ExecuteAsync($"""
            INSERT INTO push_subscriptions({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, 0)
            ON CONFLICT (user_id, device) DO UPDATE SET kind = excluded.kind, endpoint = excluded.endpoint, p256dh = excluded.p256dh,
                auth = excluded.auth, created = excluded.created, last_attempt = NULL, last_outcome = NULL, last_status = NULL, failures = 0
            """, cancellationToken, s.User, s.Device, s.Kind, s.Endpoint, s.P256dh, s.Auth, s.Created).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<PushSubscription>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM push_subscriptions WHERE user_id = $1 ORDER BY device COLLATE \"C\"");
        command.Parameters.Add(Parameter(user));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, r => new PushSubscription(
            r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetInt64(6),
            r.IsDBNull(7) ? null : new PushAttempt(r.GetInt64(7), (PushOutcome)r.GetInt32(8), r.GetInt32(9), r.GetInt32(10))), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> RemoveAsync(string user, string? device, string? endpoint, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM push_subscriptions WHERE user_id = $1 AND ($2::text IS NULL OR device = $2) AND ($3::text IS NULL OR endpoint = $3)",
            cancellationToken, user, device, endpoint).ConfigureAwait(false);

    public async ValueTask<bool> RemoveGoneAsync(PushSubscription s, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM push_subscriptions WHERE user_id = $1 AND device = $2 AND kind = $3 AND endpoint = $4",
            cancellationToken, s.User, s.Device, s.Kind, s.Endpoint).ConfigureAwait(false) == 1;

    public async ValueTask RecordAttemptAsync(PushSubscription s, long at, PushResult result, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("""
            UPDATE push_subscriptions SET last_attempt = $5, last_outcome = $6, last_status = $7,
                failures = CASE WHEN $6 = 0 THEN 0 ELSE failures + 1 END
            WHERE user_id = $1 AND device = $2 AND kind = $3 AND endpoint = $4
            """, cancellationToken, s.User, s.Device, s.Kind, s.Endpoint, at, (int)result.Outcome, result.Status).ConfigureAwait(false);

    private async ValueTask<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object?[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in parameters)
            command.Parameters.Add(value is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } : new NpgsqlParameter { Value = value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
