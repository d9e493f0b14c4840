using AspireChat.Messaging.Storage;
using Microsoft.Data.Sqlite;

namespace AspireChat.Messaging.Push;

/// <summary>The embedded push subscription store: a table beside the chat store's in the same SQLite file.</summary>
public sealed class SqlitePushSubscriptionStore(SqliteDatabase database) : IPushSubscriptionStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS push_subscriptions (
            uid TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, endpoint TEXT NOT NULL,
            p256dh TEXT, auth TEXT, created INTEGER NOT NULL,
            last_attempt INTEGER, last_outcome INTEGER, last_status INTEGER, failures INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (uid, device)) WITHOUT ROWID;
        """;

    private const string Columns = "uid, device, kind, endpoint, p256dh, auth, created, last_attempt, last_outcome, last_status, failures";

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => { SqliteDatabase.Execute(c, Schema, tx); return 0; }, cancellationToken).ConfigureAwait(false);

    public async ValueTask SaveAsync(PushSubscription s, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => NonQuery(c, tx, $"""
            INSERT INTO push_subscriptions({Columns}) VALUES ($u, $d, $k, $e, $p, $a, $c, NULL, NULL, NULL, 0)
            ON CONFLICT(uid, device) DO UPDATE SET kind = excluded.kind, endpoint = excluded.endpoint, p256dh = excluded.p256dh,
                auth = excluded.auth, created = excluded.created, last_attempt = NULL, last_outcome = NULL, last_status = NULL, failures = 0
            """,
            ("$u", s.User), ("$d", s.Device), ("$k", s.Kind), ("$e", s.Endpoint), ("$p", s.P256dh), ("$a", s.Auth), ("$c", s.Created)), cancellationToken).ConfigureAwait(false);

    public ValueTask<IReadOnlyList<PushSubscription>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, $"SELECT {Columns} FROM push_subscriptions WHERE uid = $u ORDER BY device", ("$u", user));
        using var r = select.ExecuteReader();
        var subscriptions = new List<PushSubscription>();
        while (r.Read())
        {
            subscriptions.Add(new PushSubscription(
                r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetInt64(6),
                r.IsDBNull(7) ? null : new PushAttempt(r.GetInt64(7), (PushOutcome)r.GetInt32(8), r.GetInt32(9), r.GetInt32(10))));
        }
        return ValueTask.FromResult<IReadOnlyList<PushSubscription>>(subscriptions);
    }

    public async ValueTask<int> RemoveAsync(string user, string? device, string? endpoint, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => NonQuery(c, tx,
            "DELETE FROM push_subscriptions WHERE uid = $u AND ($d IS NULL OR device = $d) AND ($e IS NULL OR endpoint = $e)",
            ("$u", user), ("$d", device), ("$e", endpoint)), cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> RemoveGoneAsync(PushSubscription s, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => NonQuery(c, tx,
            "DELETE FROM push_subscriptions WHERE uid = $u AND device = $d AND kind = $k AND endpoint = $e",
            ("$u", s.User), ("$d", s.Device), ("$k", s.Kind), ("$e", s.Endpoint)) == 1, cancellationToken).ConfigureAwait(false);

    public async ValueTask RecordAttemptAsync(PushSubscription s, long at, PushResult result, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => NonQuery(c, tx, """
            UPDATE push_subscriptions SET last_attempt = $t, last_outcome = $o, last_status = $s,
                failures = CASE WHEN $o = 0 THEN 0 ELSE failures + 1 END
            WHERE uid = $u AND device = $d AND kind = $k AND endpoint = $e
            """,
            ("$u", s.User), ("$d", s.Device), ("$k", s.Kind), ("$e", s.Endpoint), ("$t", at), ("$o", (int)result.Outcome), ("$s", result.Status)), cancellationToken).ConfigureAwait(false);

    private static int NonQuery(SqliteConnection connection, SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, tx, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }
}
