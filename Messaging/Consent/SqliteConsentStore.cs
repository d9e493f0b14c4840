using System.Text;
using AspireChat.Messaging.Storage;
using Microsoft.Data.Sqlite;

namespace AspireChat.Messaging.Consent;

/// <summary>
/// The consent store of the stand-in topology: tables beside the chat store's in the same SQLite file. Set queries go
/// as <c>IN (…)</c> lists of at most <see cref="Chunk"/> parameters each, well under SQLite's parameter limit.
/// </summary>
public sealed class SqliteConsentStore(SqliteDatabase database) : IConsentStore
{
    private const int Chunk = 500;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS blocks (
            blocker TEXT NOT NULL, blocked TEXT NOT NULL, since INTEGER NOT NULL,
            PRIMARY KEY (blocker, blocked)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS mutes (
            uid TEXT NOT NULL, conv TEXT NOT NULL,
            PRIMARY KEY (uid, conv)) WITHOUT ROWID;
        """;

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => { Command(c, tx, Schema).ExecuteNonQuery(); return 0; }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> BlockAsync(string blocker, string blocked, long since, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx, "INSERT INTO blocks(blocker, blocked, since) VALUES ($a, $b, $s) ON CONFLICT DO NOTHING",
            ("$a", blocker), ("$b", blocked), ("$s", since)).ExecuteNonQuery() == 1, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> UnblockAsync(string blocker, string blocked, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx, "DELETE FROM blocks WHERE blocker = $a AND blocked = $b",
            ("$a", blocker), ("$b", blocked)).ExecuteNonQuery() == 1, cancellationToken).ConfigureAwait(false);

    public ValueTask<IReadOnlyList<BlockEntry>> GetBlocksAsync(string blocker, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT blocked, since FROM blocks WHERE blocker = $a ORDER BY blocked", ("$a", blocker));
        using var r = select.ExecuteReader();
        var blocks = new List<BlockEntry>();
        while (r.Read()) blocks.Add(new BlockEntry(r.GetString(0), r.GetInt64(1)));
        return ValueTask.FromResult<IReadOnlyList<BlockEntry>>(blocks);
    }

    public ValueTask<bool> IsBlockedAsync(string blocker, string blocked, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT 1 FROM blocks WHERE blocker = $a AND blocked = $b", ("$a", blocker), ("$b", blocked));
        return ValueTask.FromResult(select.ExecuteScalar() is not null);
    }

    public ValueTask<IReadOnlySet<string>> FindBlockersAsync(string blocked, IReadOnlyCollection<string> among, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(FindIn("SELECT blocker FROM blocks WHERE blocked = $k AND blocker IN ({0})", blocked, among));

    public async ValueTask SetMutedAsync(string user, string conv, bool muted, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx, muted
                ? "INSERT INTO mutes(uid, conv) VALUES ($u, $c) ON CONFLICT DO NOTHING"
                : "DELETE FROM mutes WHERE uid = $u AND conv = $c",
            ("$u", user), ("$c", conv)).ExecuteNonQuery(), cancellationToken).ConfigureAwait(false);

    public ValueTask<IReadOnlySet<string>> FindMutedConversationsAsync(string user, IReadOnlyCollection<string> convs, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(FindIn("SELECT conv FROM mutes WHERE uid = $k AND conv IN ({0})", user, convs));

    public ValueTask<IReadOnlySet<string>> FindMutedUsersAsync(string conv, IReadOnlyCollection<string> users, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(FindIn("SELECT uid FROM mutes WHERE conv = $k AND uid IN ({0})", conv, users));

    // Runs `sql` (with $k and an IN list at {0}) over `values` in chunks; the first column of every row is collected.
    private IReadOnlySet<string> FindIn(string sql, string key, IReadOnlyCollection<string> values)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (values.Count == 0) return found;
        using var c = database.OpenRead();
        foreach (var chunk in values.Distinct(StringComparer.Ordinal).Chunk(Chunk))
        {
            var names = new StringBuilder();
            using var select = c.CreateCommand();
            select.Parameters.AddWithValue("$k", key);
            for (var i = 0; i < chunk.Length; i++)
            {
                if (i > 0) names.Append(", ");
                names.Append("$v").Append(i);
                select.Parameters.AddWithValue($"$v{i}", chunk[i]);
            }
            select.CommandText = string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, names);
            using var r = select.ExecuteReader();
            while (r.Read()) found.Add(r.GetString(0));
        }
        return found;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object Value)[] parameters)
    {
        var command = c.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }
}
