using System.Text.Json;
using AspireChat.Messaging.Conversations;
using Microsoft.Data.Sqlite;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The embedded chat store: SQLite in WAL mode. Unique keys — messages(id), (conv, cseq),
/// inbox(user, seq), (user, msg_id), sends(sender, device, req) — make every write idempotent. The conversation index
/// (<c>conversations</c>, ordered by <c>ix_conversations_user_ts</c>) and the read and delivered positions are rows
/// updated only forward.
/// </summary>
/// <remarks>
/// One class serves every port of the chat store (the engine is being replaced by PostgreSQL); a write commits on its
/// own, so <see cref="BeginBatch"/> hands out batches that commit as they go. The heads it counts from are
/// <see cref="SequenceHeads"/>'s: several processes share one file in the stand-in topology, each the writer of the
/// partitions it owns.
/// </remarks>
public sealed partial class SqliteChatStore(SqliteDatabase database, SequenceHeads heads)
    : IChatStore, IChatWrites, ITimelineStore, IInboxStore, IConversationIndex, ICursorStore
{
    public IChatStoreBatch BeginBatch() => new ImmediateChatStoreBatch(this);

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => { SqliteDatabase.Execute(c, Schema, tx); return 0; }, cancellationToken).ConfigureAwait(false);

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY, conv TEXT NOT NULL, cseq INTEGER NOT NULL, ope INTEGER NOT NULL,
            sender TEXT NOT NULL, recipient TEXT NOT NULL, type INTEGER NOT NULL, body TEXT NOT NULL,
            ex TEXT, ts INTEGER NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_conv_cseq ON messages(conv, cseq);
        CREATE TABLE IF NOT EXISTS inbox (
            user TEXT NOT NULL, seq INTEGER NOT NULL, msg_id INTEGER NOT NULL,
            conv TEXT NOT NULL, cseq INTEGER NOT NULL, PRIMARY KEY (user, seq)) WITHOUT ROWID;
        CREATE UNIQUE INDEX IF NOT EXISTS ux_inbox_user_msg ON inbox(user, msg_id);
        CREATE TABLE IF NOT EXISTS cursors (
            user TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL,
            PRIMARY KEY (user, device)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sends (
            sender TEXT NOT NULL, device TEXT NOT NULL, req INTEGER NOT NULL, id INTEGER NOT NULL,
            conv TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (sender, device, req)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ix_sends_ts ON sends(ts);
        CREATE TABLE IF NOT EXISTS conversations (
            user TEXT NOT NULL, conv TEXT NOT NULL, last_cseq INTEGER NOT NULL, ts INTEGER NOT NULL, others INTEGER NOT NULL,
            PRIMARY KEY (user, conv)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ix_conversations_user_ts ON conversations(user, ts);
        CREATE TABLE IF NOT EXISTS read_positions (
            user TEXT NOT NULL, conv TEXT NOT NULL, cseq INTEGER NOT NULL, others_at INTEGER NOT NULL,
            PRIMARY KEY (user, conv)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS delivered_positions (
            user TEXT NOT NULL, conv TEXT NOT NULL, cseq INTEGER NOT NULL, PRIMARY KEY (user, conv)) WITHOUT ROWID;
        """;

    // Storage, never the writer's cache (SequenceHeads): this process may not be the writer of the user's inbox.
    public ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        return ValueTask.FromResult(StoredInboxHead(c, null, user));
    }

    public ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = $"""
            SELECT i.seq, {MessageColumns} FROM inbox i JOIN messages m ON m.id = i.msg_id
            WHERE i.user = $u AND i.seq > $after ORDER BY i.seq LIMIT $limit
            """;
        select.Parameters.AddWithValue("$u", user);
        select.Parameters.AddWithValue("$after", after);
        select.Parameters.AddWithValue("$limit", limit);
        using var reader = select.ExecuteReader();
        var entries = new List<InboxEntry>();
        while (reader.Read()) entries.Add(new InboxEntry(user, reader.GetInt64(0), ReadMessage(reader, 1)));
        return ValueTask.FromResult<IReadOnlyList<InboxEntry>>(entries);
    }

    public ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.Parameters.AddWithValue("$conv", conv);
        select.Parameters.AddWithValue("$limit", limit);
        if (after is { } a)
        {
            select.CommandText = $"SELECT {MessageColumns} FROM messages m WHERE m.conv = $conv AND m.cseq > $a ORDER BY m.cseq LIMIT $limit";
            select.Parameters.AddWithValue("$a", a);
        }
        else
        {
            select.CommandText = $"SELECT {MessageColumns} FROM messages m WHERE m.conv = $conv AND m.cseq < $b ORDER BY m.cseq DESC LIMIT $limit";
            select.Parameters.AddWithValue("$b", before ?? long.MaxValue);
        }
        using var reader = select.ExecuteReader();
        var messages = new List<ChatMessage>();
        while (reader.Read()) messages.Add(ReadMessage(reader, 0));
        if (after is null) messages.Reverse();
        return ValueTask.FromResult<IReadOnlyList<ChatMessage>>(messages);
    }

    public ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = "SELECT seq FROM cursors WHERE user = $u AND device = $d";
        select.Parameters.AddWithValue("$u", user);
        select.Parameters.AddWithValue("$d", device);
        return ValueTask.FromResult(select.ExecuteScalar() is long seq ? seq : (long?)null);
    }

    public async ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) =>
        {
            using var upsert = c.CreateCommand();
            upsert.Transaction = tx;
            upsert.CommandText = "INSERT INTO cursors(user, device, seq) VALUES ($u, $d, $s) ON CONFLICT(user, device) DO UPDATE SET seq = MAX(seq, excluded.seq)";
            upsert.Parameters.AddWithValue("$u", user);
            upsert.Parameters.AddWithValue("$d", device);
            upsert.Parameters.AddWithValue("$s", seq);
            return upsert.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        if (cursors.Count == 0) return;
        await database.WriteAsync((c, tx) =>
        {
            using var upsert = c.CreateCommand();
            upsert.Transaction = tx;
            upsert.CommandText = "INSERT INTO cursors(user, device, seq) VALUES ($u, $d, $s) ON CONFLICT(user, device) DO UPDATE SET seq = MAX(seq, excluded.seq)";
            var (u, d, seq) = (upsert.Parameters.AddWithValue("$u", ""), upsert.Parameters.AddWithValue("$d", ""), upsert.Parameters.AddWithValue("$s", 0L));
            foreach (var cursor in cursors)
            {
                (u.Value, d.Value, seq.Value) = (cursor.User, cursor.Device, cursor.Seq);
                upsert.ExecuteNonQuery();
            }
            return cursors.Count;
        }, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = $"""
            SELECT x.last_cseq, x.ts, x.others, COALESCE(r.cseq, 0), COALESCE(r.others_at, 0), {MessageColumns}
            FROM conversations x
            JOIN messages m ON m.conv = x.conv AND m.cseq = x.last_cseq
            LEFT JOIN read_positions r ON r.user = x.user AND r.conv = x.conv
            WHERE x.user = $u AND x.ts < $before ORDER BY x.ts DESC LIMIT $limit
            """;
        select.Parameters.AddWithValue("$u", user);
        select.Parameters.AddWithValue("$before", before ?? long.MaxValue);
        select.Parameters.AddWithValue("$limit", limit);
        using var reader = select.ExecuteReader();
        var entries = new List<ConversationEntry>();
        while (reader.Read())
        {
            var message = ReadMessage(reader, 5);
            entries.Add(new ConversationEntry(
                new ConversationState(user, message.Conv, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)), message));
        }
        return ValueTask.FromResult<IReadOnlyList<ConversationEntry>>(entries);
    }

    public ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = """
            SELECT (SELECT last_cseq FROM conversations WHERE user = $u AND conv = $conv), (SELECT ts FROM conversations WHERE user = $u AND conv = $conv),
                (SELECT others FROM conversations WHERE user = $u AND conv = $conv),
                (SELECT cseq FROM read_positions WHERE user = $u AND conv = $conv), (SELECT others_at FROM read_positions WHERE user = $u AND conv = $conv)
            """;
        select.Parameters.AddWithValue("$u", user);
        select.Parameters.AddWithValue("$conv", conv);
        using var reader = select.ExecuteReader();
        reader.Read();
        long At(int i) => reader.IsDBNull(i) ? 0 : reader.GetInt64(i);
        return ValueTask.FromResult(new ConversationState(user, conv, At(0), At(1), At(2), At(3), At(4)));
    }

    public async ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) =>
        {
            using var upsert = c.CreateCommand();
            upsert.Transaction = tx;
            upsert.CommandText = """
                INSERT INTO read_positions(user, conv, cseq, others_at) VALUES ($u, $conv, $cseq, $others)
                ON CONFLICT(user, conv) DO UPDATE SET cseq = excluded.cseq, others_at = excluded.others_at WHERE excluded.cseq > cseq
                """;
            upsert.Parameters.AddWithValue("$u", user);
            upsert.Parameters.AddWithValue("$conv", conv);
            upsert.Parameters.AddWithValue("$cseq", cseq);
            upsert.Parameters.AddWithValue("$others", othersAtRead);
            return upsert.ExecuteNonQuery() == 1;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default)
    {
        if (positions.Count == 0) return [];
        return await database.WriteAsync((c, tx) =>
        {
            using var upsert = c.CreateCommand();
            upsert.Transaction = tx;
            upsert.CommandText = """
                INSERT INTO delivered_positions(user, conv, cseq) VALUES ($u, $conv, $cseq)
                ON CONFLICT(user, conv) DO UPDATE SET cseq = excluded.cseq WHERE excluded.cseq > cseq
                """;
            var (u, conv, cseq) = (upsert.Parameters.AddWithValue("$u", user), upsert.Parameters.AddWithValue("$conv", ""), upsert.Parameters.AddWithValue("$cseq", 0L));
            var moved = new List<ConversationPosition>(positions.Count);
            foreach (var position in positions)
            {
                (conv.Value, cseq.Value) = (position.Conv, position.Cseq);
                if (upsert.ExecuteNonQuery() == 1) moved.Add(position);
            }
            return (IReadOnlyList<ConversationPosition>)moved;
        }, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = """
            SELECT COALESCE((SELECT cseq FROM delivered_positions WHERE user = $u AND conv = $conv), 0),
                COALESCE((SELECT cseq FROM read_positions WHERE user = $u AND conv = $conv), 0)
            """;
        var u = select.Parameters.AddWithValue("$u", "");
        select.Parameters.AddWithValue("$conv", conv);
        var receipts = new ReceiptPosition[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            u.Value = users[i];
            using var reader = select.ExecuteReader();
            reader.Read();
            receipts[i] = new ReceiptPosition(users[i], reader.GetInt64(0), reader.GetInt64(1));
        }
        return ValueTask.FromResult<IReadOnlyList<ReceiptPosition>>(receipts);
    }

    public ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = "SELECT conv, MAX(cseq) FROM inbox WHERE user = $u AND seq > $after AND seq <= $through GROUP BY conv";
        select.Parameters.AddWithValue("$u", user);
        select.Parameters.AddWithValue("$after", after);
        select.Parameters.AddWithValue("$through", through);
        using var reader = select.ExecuteReader();
        var positions = new List<ConversationPosition>();
        while (reader.Read()) positions.Add(new ConversationPosition(reader.GetString(0), reader.GetInt64(1)));
        return ValueTask.FromResult<IReadOnlyList<ConversationPosition>>(positions);
    }

    private const string MessageColumns = "m.id, m.conv, m.cseq, m.ope, m.sender, m.recipient, m.type, m.body, m.ex, m.ts";

    private static ChatMessage ReadMessage(SqliteDataReader r, int o) => new(
        r.GetInt64(o), r.GetString(o + 1), r.GetInt64(o + 2), r.GetInt32(o + 3), r.GetString(o + 4), r.GetString(o + 5),
        r.GetInt32(o + 6), ParseJson(r.GetString(o + 7)), r.IsDBNull(o + 8) ? null : ParseJson(r.GetString(o + 8)), r.GetInt64(o + 9));

    private static JsonElement ParseJson(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
