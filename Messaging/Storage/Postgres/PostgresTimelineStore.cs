using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// Conversation timelines in PostgreSQL: <c>messages</c>, unique on <c>id</c> and on (<c>conv</c>, <c>cseq</c>), and the
/// head of each conversation in <c>conversation_heads</c>, moved in the transaction that stores its messages.
/// </summary>
public sealed class PostgresTimelineStore(NpgsqlDataSource dataSource) : ITimelineStore
{
    public async ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(after is null
            ? $"SELECT {Columns} FROM messages m WHERE m.conv = $1 AND m.cseq < $2 ORDER BY m.cseq DESC LIMIT $3"
            : $"SELECT {Columns} FROM messages m WHERE m.conv = $1 AND m.cseq > $2 ORDER BY m.cseq LIMIT $3");
        command.Parameters.Add(Parameter(conv));
        command.Parameters.Add(Parameter(after ?? before ?? long.MaxValue));
        command.Parameters.Add(Parameter(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var messages = await ReadAllAsync(reader, r => Read(r, 0), cancellationToken).ConfigureAwait(false);
        if (after is null) messages.Reverse();
        return messages;
    }

    public async ValueTask<ChatMessage?> GetMessageAsync(string conv, long id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM messages m WHERE m.id = $1 AND m.conv = $2");
        command.Parameters.Add(Parameter(id));
        command.Parameters.Add(Parameter(conv));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return (await ReadAllAsync(reader, r => Read(r, 0), cancellationToken).ConfigureAwait(false)) is [var message] ? message : null;
    }

    /// <summary>A recall's erasure (<see cref="IChatWrites.ReplaceContentAsync"/>): the body and ex of entries at (conv, cseq), in one statement.</summary>
    internal static async ValueTask ReplaceContentAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE messages m SET body = t.body, ex = t.ex
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS t(conv, cseq, body, ex)
            WHERE m.conv = t.conv AND m.cseq = t.cseq
            """, connection, tx);
        command.Parameters.Add(Parameter(messages.Select(m => m.Conv).ToArray()));
        command.Parameters.Add(Parameter(messages.Select(m => m.Cseq).ToArray()));
        command.Parameters.Add(Parameter(messages.Select(m => m.Body.GetRawText()).ToArray()));
        command.Parameters.Add(Parameter(messages.Select(m => m.Ex?.GetRawText()).ToArray()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // 1. Lock the heads of the batch's conversations (created at 0 when new), in one order so that two writers cannot deadlock.
    // 2. Under those locks — a new statement, so it sees what another writer of these conversations committed meanwhile —
    //    take the first occurrence of each id not stored yet, move each head by its count, store them numbered from the
    //    old head in list order, and answer every input row with its cseq (new, or the stored one of an id seen before).
    private const string LockHeads = """
        INSERT INTO conversation_heads AS h (conv, head)
        SELECT DISTINCT conv, 0 FROM unnest($1::text[]) AS t(conv) ORDER BY conv
        ON CONFLICT (conv) DO UPDATE SET head = h.head
        """;

    private const string Append = $"""
        WITH input AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::bigint[],
                $10::bigint[], $11::text[])
                WITH ORDINALITY AS t(id, conv, ope, sender, recipient, type, body, ex, ts, reply, mentions, ord)),
        fresh AS (
            SELECT DISTINCT ON (id) * FROM input i WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = i.id) ORDER BY id, ord),
        numbered AS (
            SELECT f.*, row_number() OVER (PARTITION BY conv ORDER BY ord) AS k FROM fresh f),
        moved AS (
            UPDATE conversation_heads h SET head = h.head + c.n
            FROM (SELECT conv, count(*) AS n FROM fresh GROUP BY conv) c
            WHERE h.conv = c.conv
            RETURNING h.conv, h.head - c.n AS base),
        stored AS (
            INSERT INTO messages (id, conv, cseq, ope, sender, recipient, type, body, ex, ts, reply, mentions)
            SELECT n.id, n.conv, m.base + n.k, n.ope, n.sender, n.recipient, n.type, n.body, n.ex, n.ts, n.reply, n.mentions
            FROM numbered n JOIN moved m ON m.conv = n.conv
            RETURNING id, cseq)
        SELECT COALESCE(s.cseq, m.cseq), s.id IS NULL, {PostgresMessageRows.Columns} FROM input i
        LEFT JOIN stored s ON s.id = i.id LEFT JOIN messages m ON m.id = i.id
        ORDER BY i.ord
        """;

    /// <summary>Stage 1's write (<see cref="IChatWrites.AppendMessagesAsync"/>): two statements in one round trip.</summary>
    internal static async ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(
        NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken)
    {
        if (accepted.Count == 0) return [];
        var n = accepted.Count;
        var (ids, convs, opes, senders, recipients, types, bodies, exes, tss) =
            (new long[n], new string[n], new int[n], new string[n], new string[n], new int[n], new string[n], new string?[n], new long[n]);
        var (replies, mentions) = (new long?[n], new string?[n]);
        for (var i = 0; i < n; i++)
        {
            var m = accepted[i];
            (ids[i], convs[i], opes[i], senders[i], recipients[i], types[i]) = (m.Id, m.Conv, m.Ope, m.From, m.To, m.Type);
            (bodies[i], exes[i], tss[i]) = (m.Body.GetRawText(), m.Ex?.GetRawText(), m.Ts);
            (replies[i], mentions[i]) = (m.Reply, MentionsText(m.Mentions));
        }

        await using var batch = new NpgsqlBatch(connection, tx);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(LockHeads) { Parameters = { Parameter(convs) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(Append)
        {
            Parameters =
            {
                Parameter(ids), Parameter(convs), Parameter(opes), Parameter(senders), Parameter(recipients), Parameter(types), Parameter(bodies), Parameter(exes), Parameter(tss),
                Parameter(replies), Parameter(mentions),
            },
        });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        // A message stored before (a replay, a retransmission) goes on as stored — erased if it was recalled since — not
        // as the copy given; `messages m` is the table as it was before this statement's insert.
        var rows = await ReadAllAsync(reader, r => (Cseq: r.GetInt64(0), Stored: r.GetBoolean(1) && !r.IsDBNull(2) ? PostgresMessageRows.Read(r, 2) : null),
            cancellationToken).ConfigureAwait(false);

        var stored = new ChatMessage[n];
        for (var i = 0; i < n; i++) stored[i] = rows[i].Stored ?? ChatMessage.Sequenced(accepted[i], rows[i].Cseq);
        return stored;
    }
}
