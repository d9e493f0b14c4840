using System.Collections.Concurrent;
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
public sealed class SqliteChatStore(SqliteDatabase database) : IChatStore
{
    // Heads are cached because this process is the single writer of every conversation and inbox
    // (embedded mode); they are updated only after the transaction that moved them commits.
    private readonly ConcurrentDictionary<string, long> _conversationHeads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _inboxHeads = new(StringComparer.Ordinal);

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

    public async ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default)
    {
        if (candidates.Count == 0) return [];
        return await database.WriteAsync((c, tx) =>
        {
            using var insert = c.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO sends(sender, device, req, id, conv, ts) VALUES ($s, $d, $r, $id, $conv, $ts) ON CONFLICT DO NOTHING";
            var (s, d, r, id, conv, ts) = (insert.Parameters.AddWithValue("$s", DBNull.Value), insert.Parameters.AddWithValue("$d", DBNull.Value),
                insert.Parameters.AddWithValue("$r", DBNull.Value), insert.Parameters.AddWithValue("$id", DBNull.Value),
                insert.Parameters.AddWithValue("$conv", DBNull.Value), insert.Parameters.AddWithValue("$ts", DBNull.Value));
            using var select = c.CreateCommand();
            select.Transaction = tx;
            select.CommandText = "SELECT id, conv, ts FROM sends WHERE sender = $s AND device = $d AND req = $r";
            var (ss, sd, sr) = (select.Parameters.AddWithValue("$s", DBNull.Value), select.Parameters.AddWithValue("$d", DBNull.Value), select.Parameters.AddWithValue("$r", DBNull.Value));

            var results = new SendRecord[candidates.Count];
            for (var i = 0; i < candidates.Count; i++)
            {
                var candidate = candidates[i];
                (s.Value, d.Value, r.Value, id.Value, conv.Value, ts.Value) = (candidate.From, candidate.Device, candidate.Req, candidate.Id, candidate.Conv, candidate.Ts);
                if (insert.ExecuteNonQuery() == 1)
                {
                    results[i] = candidate;
                    continue;
                }
                (ss.Value, sd.Value, sr.Value) = (candidate.From, candidate.Device, candidate.Req);
                using var reader = select.ExecuteReader();
                reader.Read();
                results[i] = candidate with { Id = reader.GetInt64(0), Conv = reader.GetString(1), Ts = reader.GetInt64(2) };
            }
            return (IReadOnlyList<SendRecord>)results;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) =>
        {
            using var delete = c.CreateCommand();
            delete.Transaction = tx;
            delete.CommandText = "DELETE FROM sends WHERE ts < $before";
            delete.Parameters.AddWithValue("$before", olderThan);
            return (long)delete.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default)
    {
        if (accepted.Count == 0) return [];
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        var stored = await database.WriteAsync((c, tx) =>
        {
            using var insert = c.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = """
                INSERT INTO messages(id, conv, cseq, ope, sender, recipient, type, body, ex, ts)
                VALUES ($id, $conv, $cseq, $ope, $from, $to, $type, $body, $ex, $ts) ON CONFLICT(id) DO NOTHING
                """;
            var p = new[] { "$id", "$conv", "$cseq", "$ope", "$from", "$to", "$type", "$body", "$ex", "$ts" }
                .Select(n => insert.Parameters.AddWithValue(n, DBNull.Value)).ToArray();
            using var existing = c.CreateCommand();
            existing.Transaction = tx;
            existing.CommandText = "SELECT cseq FROM messages WHERE id = $id";
            var existingId = existing.Parameters.AddWithValue("$id", DBNull.Value);

            var result = new ChatMessage[accepted.Count];
            for (var i = 0; i < accepted.Count; i++)
            {
                var m = accepted[i];
                if (!moved.TryGetValue(m.Conv, out var head)) head = ConversationHead(c, tx, m.Conv);
                var cseq = head + 1;
                (p[0].Value, p[1].Value, p[2].Value, p[3].Value, p[4].Value) = (m.Id, m.Conv, cseq, m.Ope, m.From);
                (p[5].Value, p[6].Value, p[7].Value, p[8].Value, p[9].Value) = (m.To, m.Type, m.Body.GetRawText(), (object?)m.Ex?.GetRawText() ?? DBNull.Value, m.Ts);
                if (insert.ExecuteNonQuery() == 1)
                {
                    moved[m.Conv] = cseq;
                }
                else
                {
                    existingId.Value = m.Id;
                    cseq = (long)existing.ExecuteScalar()!;
                    moved[m.Conv] = head;
                }
                result[i] = new ChatMessage(m.Id, m.Conv, cseq, m.Ope, m.From, m.To, m.Type, m.Body, m.Ex, m.Ts);
            }
            return (IReadOnlyList<ChatMessage>)result;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var (conv, head) in moved) _conversationHeads[conv] = head;
        return stored;
    }

    private long ConversationHead(SqliteConnection c, SqliteTransaction tx, string conv)
    {
        if (_conversationHeads.TryGetValue(conv, out var cached)) return cached;
        using var max = c.CreateCommand();
        max.Transaction = tx;
        max.CommandText = "SELECT COALESCE(MAX(cseq), 0) FROM messages WHERE conv = $conv";
        max.Parameters.AddWithValue("$conv", conv);
        return (long)max.ExecuteScalar()!;
    }

    public async ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return [];
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        var entries = await database.WriteAsync((c, tx) =>
        {
            using var insert = c.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO inbox(user, seq, msg_id, conv, cseq) VALUES ($u, $seq, $id, $conv, $cseq) ON CONFLICT(user, msg_id) DO NOTHING";
            var (u, seq, id, conv, cseq) = (insert.Parameters.AddWithValue("$u", DBNull.Value), insert.Parameters.AddWithValue("$seq", DBNull.Value),
                insert.Parameters.AddWithValue("$id", DBNull.Value), insert.Parameters.AddWithValue("$conv", DBNull.Value), insert.Parameters.AddWithValue("$cseq", DBNull.Value));
            using var existing = c.CreateCommand();
            existing.Transaction = tx;
            existing.CommandText = "SELECT seq FROM inbox WHERE user = $u AND msg_id = $id";
            var (eu, eid) = (existing.Parameters.AddWithValue("$u", DBNull.Value), existing.Parameters.AddWithValue("$id", DBNull.Value));

            var result = new InboxEntry[appends.Count];
            for (var i = 0; i < appends.Count; i++)
            {
                var a = appends[i];
                if (!moved.TryGetValue(a.User, out var head)) head = InboxHead(c, tx, a.User);
                (u.Value, seq.Value, id.Value, conv.Value, cseq.Value) = (a.User, head + 1, a.Message.Id, a.Message.Conv, a.Message.Cseq);
                if (insert.ExecuteNonQuery() == 1)
                {
                    moved[a.User] = head + 1;
                    result[i] = new InboxEntry(a.User, head + 1, a.Message);
                }
                else
                {
                    (eu.Value, eid.Value) = (a.User, a.Message.Id);
                    moved[a.User] = head;
                    result[i] = new InboxEntry(a.User, (long)existing.ExecuteScalar()!, a.Message, IsNew: false);
                }
            }
            return (IReadOnlyList<InboxEntry>)result;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var (user, head) in moved) _inboxHeads[user] = head;
        return entries;
    }

    private long InboxHead(SqliteConnection c, SqliteTransaction? tx, string user)
    {
        if (_inboxHeads.TryGetValue(user, out var cached)) return cached;
        using var max = c.CreateCommand();
        max.Transaction = tx;
        max.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM inbox WHERE user = $u";
        max.Parameters.AddWithValue("$u", user);
        return (long)max.ExecuteScalar()!;
    }

    public ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default)
    {
        if (_inboxHeads.TryGetValue(user, out var cached)) return ValueTask.FromResult(cached);
        using var c = database.OpenRead();
        return ValueTask.FromResult(InboxHead(c, null, user));
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

    public async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return;
        await database.WriteAsync((c, tx) =>
        {
            using var upsert = c.CreateCommand();
            upsert.Transaction = tx;
            // A message at or below the row's last cseq changes nothing (a replay).
            upsert.CommandText = """
                INSERT INTO conversations(user, conv, last_cseq, ts, others) VALUES ($u, $conv, $cseq, $ts, $others)
                ON CONFLICT(user, conv) DO UPDATE SET last_cseq = excluded.last_cseq, ts = excluded.ts, others = others + excluded.others
                WHERE excluded.last_cseq > last_cseq
                """;
            var (u, conv, cseq, ts, others) = (upsert.Parameters.AddWithValue("$u", ""), upsert.Parameters.AddWithValue("$conv", ""),
                upsert.Parameters.AddWithValue("$cseq", 0L), upsert.Parameters.AddWithValue("$ts", 0L), upsert.Parameters.AddWithValue("$others", 0L));
            using var latest = c.CreateCommand();
            latest.Transaction = tx;
            latest.CommandText = "SELECT COALESCE(MAX(ts), 0) FROM conversations WHERE user = $u";
            var latestUser = latest.Parameters.AddWithValue("$u", "");
            var activity = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (user, message) in appends)
            {
                if (!activity.TryGetValue(user, out var top))
                {
                    latestUser.Value = user;
                    top = (long)latest.ExecuteScalar()!;
                }
                // The activity (ts column) is unique per user: a message in an earlier row's millisecond goes 1 ms past it.
                var next = Math.Max(message.Ts, top + 1);
                (u.Value, conv.Value, cseq.Value, ts.Value) = (user, message.Conv, message.Cseq, next);
                others.Value = message.From != user && message.Type >= 0 ? 1L : 0L;
                activity[user] = upsert.ExecuteNonQuery() == 1 ? next : top;
            }
            return appends.Count;
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
