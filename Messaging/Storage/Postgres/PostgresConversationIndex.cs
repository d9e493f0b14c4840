using AspireChat.Messaging.Conversations;
using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// The conversation index in PostgreSQL: <c>conversations</c> (one row per (user, conversation), listed through
/// <c>ix_conversations_user_activity</c>), <c>read_positions</c> and <c>delivered_positions</c>, every one moved only forward.
/// </summary>
public sealed class PostgresConversationIndex(NpgsqlDataSource dataSource) : IConversationIndex
{
    public async ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT x.last_cseq, x.activity, x.others, COALESCE(r.cseq, 0), COALESCE(r.others_at, 0), {Columns}
            FROM conversations x
            JOIN messages m ON m.conv = x.conv AND m.cseq = x.last_cseq
            LEFT JOIN read_positions r ON r.user_id = x.user_id AND r.conv = x.conv
            WHERE x.user_id = $1 AND x.activity < $2 ORDER BY x.activity DESC LIMIT $3
            """);
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(before ?? long.MaxValue));
        command.Parameters.Add(Parameter(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, r =>
        {
            var last = Read(r, 5);
            return new ConversationEntry(new ConversationState(user, last.Conv, r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4)), last);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT COALESCE(x.last_cseq, 0), COALESCE(x.activity, 0), COALESCE(x.others, 0), COALESCE(r.cseq, 0), COALESCE(r.others_at, 0)
            FROM (SELECT) one
            LEFT JOIN conversations x ON x.user_id = $1 AND x.conv = $2
            LEFT JOIN read_positions r ON r.user_id = $1 AND r.conv = $2
            """);
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(conv));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new ConversationState(user, conv, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    public async ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO read_positions AS r (user_id, conv, cseq, others_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, conv) DO UPDATE SET cseq = excluded.cseq, others_at = excluded.others_at WHERE excluded.cseq > r.cseq
            """);
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(conv));
        command.Parameters.Add(Parameter(cseq));
        command.Parameters.Add(Parameter(othersAtRead));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default)
    {
        if (positions.Count == 0) return [];
        // One row per conversation (ON CONFLICT DO UPDATE may not touch a row twice): the highest position of each.
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (conv, cseq) in positions) highest[conv] = highest.TryGetValue(conv, out var other) ? Math.Max(other, cseq) : cseq;
        await using var command = dataSource.CreateCommand("""
            INSERT INTO delivered_positions AS d (user_id, conv, cseq)
            SELECT $1, conv, cseq FROM unnest($2::text[], $3::bigint[]) AS t(conv, cseq) ORDER BY conv
            ON CONFLICT (user_id, conv) DO UPDATE SET cseq = excluded.cseq WHERE excluded.cseq > d.cseq
            RETURNING conv
            """);
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(highest.Keys.ToArray()));
        command.Parameters.Add(Parameter(highest.Values.ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var moved = (await ReadAllAsync(reader, r => r.GetString(0), cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        return [.. positions.Where(p => moved.Contains(p.Conv) && highest[p.Conv] == p.Cseq).DistinctBy(p => p.Conv)];
    }

    public async ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT COALESCE(d.cseq, 0), COALESCE(r.cseq, 0) FROM unnest($2::text[]) WITH ORDINALITY AS t(user_id, ord)
            LEFT JOIN delivered_positions d ON d.user_id = t.user_id AND d.conv = $1
            LEFT JOIN read_positions r ON r.user_id = t.user_id AND r.conv = $1
            ORDER BY t.ord
            """);
        command.Parameters.Add(Parameter(conv));
        command.Parameters.Add(Parameter(users.ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var positions = await ReadAllAsync(reader, r => (Delivered: r.GetInt64(0), Read: r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        return [.. users.Select((user, i) => new ReceiptPosition(user, positions[i].Delivered, positions[i].Read))];
    }

    // Of each (user, conversation)'s messages in the call, only those above every earlier one can move the row (the
    // caller keeps just those); here the ones above the stored last_cseq do. The statement reads the rows as its snapshot
    // has them, and another writer of the same user (a partition moving mid-batch) may move a row after that read and
    // before this statement gets the row's lock: so an existing row's count grows by the messages above the row as
    // locked (the conflict arm sees the latest version), never by those the snapshot counted. Activities follow the rule of
    // IChatWrites.UpdateConversationsAsync, a(k) = max(ts(k), a(k-1) + 1) over the user's k-th moving message with a(0) the
    // user's latest stored activity, computed in closed form: a(k) = k + max(a(0), max over j <= k of ts(j) - j).
    private const string Update = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS t(user_id, conv, cseq, ts, others, ord)),
        moving AS (
            SELECT i.*, row_number() OVER (PARTITION BY i.user_id ORDER BY i.ord) AS k
            FROM input i LEFT JOIN conversations c ON c.user_id = i.user_id AND c.conv = i.conv
            WHERE i.cseq > COALESCE(c.last_cseq, 0)),
        timed AS (
            SELECT m.*, m.k + GREATEST(
                    COALESCE((SELECT max(c.activity) FROM conversations c WHERE c.user_id = m.user_id), 0),
                    max(m.ts - m.k) OVER (PARTITION BY m.user_id ORDER BY m.k)) AS activity
            FROM moving m),
        latest AS (
            SELECT DISTINCT ON (user_id, conv) user_id, conv, cseq, activity, sum(others) OVER (PARTITION BY user_id, conv) AS others
            FROM timed ORDER BY user_id, conv, k DESC)
        INSERT INTO conversations AS c (user_id, conv, last_cseq, activity, others)
        SELECT user_id, conv, cseq, activity, others FROM latest ORDER BY user_id, conv
        ON CONFLICT (user_id, conv) DO UPDATE SET last_cseq = excluded.last_cseq, activity = excluded.activity,
            others = c.others + (SELECT COALESCE(sum(i.others), 0) FROM input i WHERE i.user_id = c.user_id AND i.conv = c.conv AND i.cseq > c.last_cseq)
        WHERE excluded.last_cseq > c.last_cseq
        """;

    /// <summary>Stage 2's index write (<see cref="IChatWrites.UpdateConversationsAsync"/>): one statement.</summary>
    internal static async ValueTask UpdateConversationsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken)
    {
        var (users, convs, cseqs, tss, others) = (new List<string>(), new List<string>(), new List<long>(), new List<long>(), new List<long>());
        var highest = new Dictionary<(string, string), long>();
        foreach (var (user, message) in appends)
        {
            // A message at or below an earlier one of the same row changes nothing, whatever is stored.
            if (highest.TryGetValue((user, message.Conv), out var above) && message.Cseq <= above) continue;
            highest[(user, message.Conv)] = message.Cseq;
            users.Add(user);
            convs.Add(message.Conv);
            cseqs.Add(message.Cseq);
            tss.Add(message.Ts);
            others.Add(message.From != user && message.Type >= 0 ? 1 : 0);
        }
        if (users.Count == 0) return;
        await using var command = new NpgsqlCommand(Update, connection, tx);
        command.Parameters.Add(Parameter(users.ToArray()));
        command.Parameters.Add(Parameter(convs.ToArray()));
        command.Parameters.Add(Parameter(cseqs.ToArray()));
        command.Parameters.Add(Parameter(tss.ToArray()));
        command.Parameters.Add(Parameter(others.ToArray()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
