using AspireChat.Messaging.Conversations;
using Microsoft.Data.Sqlite;

namespace AspireChat.Messaging.Storage;

/// <summary>The writes of <see cref="SqliteChatStore"/>: each one SQLite transaction, heads moved after it commits.</summary>
public sealed partial class SqliteChatStore
{
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
        var epoch = heads.Conversations.Epoch;
        IReadOnlyList<ChatMessage> stored;
        try
        {
            stored = await database.WriteAsync((c, tx) =>
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
        }
        catch
        {
            heads.Conversations.Failed(accepted.Select(m => m.Conv));
            throw;
        }
        heads.Conversations.Committed(epoch, moved);
        return stored;
    }

    private long ConversationHead(SqliteConnection c, SqliteTransaction tx, string conv) => heads.Conversations.Get(conv, _ => StoredConversationHead(c, tx, conv));

    private static long StoredConversationHead(SqliteConnection c, SqliteTransaction tx, string conv)
    {
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
        var epoch = heads.Inboxes.Epoch;
        IReadOnlyList<InboxEntry> entries;
        try
        {
            entries = await database.WriteAsync((c, tx) =>
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
                    if (!moved.TryGetValue(a.User, out var head)) head = heads.Inboxes.Get(a.User, user => StoredInboxHead(c, tx, user));
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
        }
        catch
        {
            heads.Inboxes.Failed(appends.Select(a => a.User));
            throw;
        }
        heads.Inboxes.Committed(epoch, moved);
        return entries;
    }

    private static long StoredInboxHead(SqliteConnection c, SqliteTransaction? tx, string user)
    {
        using var max = c.CreateCommand();
        max.Transaction = tx;
        max.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM inbox WHERE user = $u";
        max.Parameters.AddWithValue("$u", user);
        return (long)max.ExecuteScalar()!;
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
}
