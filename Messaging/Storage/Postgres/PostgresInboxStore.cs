using AspireChat.Messaging.Conversations;
using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// Inboxes in PostgreSQL: <c>inbox</c>, unique on (<c>user_id</c>, <c>seq</c>) and (<c>user_id</c>, <c>msg_id</c>), and each
/// user's head in <c>inbox_heads</c>, moved in the transaction that appends the entries.
/// </summary>
public sealed class PostgresInboxStore(NpgsqlDataSource dataSource) : IInboxStore
{
    public async ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT head FROM inbox_heads WHERE user_id = $1");
        command.Parameters.Add(Parameter(user));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long head ? head : 0;
    }

    public async ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT i.seq, {Columns} FROM inbox i JOIN messages m ON m.id = i.msg_id
            WHERE i.user_id = $1 AND i.seq > $2 ORDER BY i.seq LIMIT $3
            """);
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(after));
        command.Parameters.Add(Parameter(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, r => new InboxEntry(user, r.GetInt64(0), Read(r, 1)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT conv, max(cseq) FROM inbox WHERE user_id = $1 AND seq > $2 AND seq <= $3 GROUP BY conv");
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(after));
        command.Parameters.Add(Parameter(through));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, r => new ConversationPosition(r.GetString(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
    }

    // As PostgresTimelineStore's append: lock the users' heads, then number the first occurrence of each (user, message)
    // not stored yet from the old head, and answer each input row with its seq and whether this call stored it.
    private const string LockHeads = """
        INSERT INTO inbox_heads AS h (user_id, head)
        SELECT DISTINCT user_id, 0 FROM unnest($1::text[]) AS t(user_id) ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET head = h.head
        """;

    private const string Append = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) WITH ORDINALITY AS t(user_id, msg_id, conv, cseq, ord)),
        fresh AS (
            SELECT DISTINCT ON (user_id, msg_id) * FROM input i
            WHERE NOT EXISTS (SELECT 1 FROM inbox x WHERE x.user_id = i.user_id AND x.msg_id = i.msg_id)
            ORDER BY user_id, msg_id, ord),
        numbered AS (
            SELECT f.*, row_number() OVER (PARTITION BY user_id ORDER BY ord) AS k FROM fresh f),
        moved AS (
            UPDATE inbox_heads h SET head = h.head + c.n
            FROM (SELECT user_id, count(*) AS n FROM fresh GROUP BY user_id) c
            WHERE h.user_id = c.user_id
            RETURNING h.user_id, h.head - c.n AS base),
        stored AS (
            INSERT INTO inbox (user_id, seq, msg_id, conv, cseq)
            SELECT n.user_id, m.base + n.k, n.msg_id, n.conv, n.cseq FROM numbered n JOIN moved m ON m.user_id = n.user_id
            RETURNING user_id, msg_id, seq)
        SELECT COALESCE(s.seq, x.seq), f.ord IS NOT DISTINCT FROM i.ord FROM input i
        LEFT JOIN stored s ON s.user_id = i.user_id AND s.msg_id = i.msg_id
        LEFT JOIN fresh f ON f.user_id = i.user_id AND f.msg_id = i.msg_id
        LEFT JOIN inbox x ON x.user_id = i.user_id AND x.msg_id = i.msg_id
        ORDER BY i.ord
        """;

    /// <summary>Stage 2's write (<see cref="IChatWrites.AppendInboxAsync"/>): two statements in one round trip.</summary>
    internal static async ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(
        NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken)
    {
        if (appends.Count == 0) return [];
        var n = appends.Count;
        var (users, ids, convs, cseqs) = (new string[n], new long[n], new string[n], new long[n]);
        for (var i = 0; i < n; i++) (users[i], ids[i], convs[i], cseqs[i]) = (appends[i].User, appends[i].Message.Id, appends[i].Message.Conv, appends[i].Message.Cseq);

        await using var batch = new NpgsqlBatch(connection, tx);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(LockHeads) { Parameters = { Parameter(users) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(Append) { Parameters = { Parameter(users), Parameter(ids), Parameter(convs), Parameter(cseqs) } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ReadAllAsync(reader, r => (Seq: r.GetInt64(0), IsNew: r.GetBoolean(1)), cancellationToken).ConfigureAwait(false);

        var entries = new InboxEntry[n];
        for (var i = 0; i < n; i++) entries[i] = new InboxEntry(appends[i].User, rows[i].Seq, appends[i].Message, rows[i].IsNew);
        return entries;
    }
}
