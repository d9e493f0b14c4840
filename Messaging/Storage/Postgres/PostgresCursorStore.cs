using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// Device cursors (<c>cursors</c>, one row per (user, device), moved only forward) and stage 0's send records
/// (<c>sends</c>, unique on (sender, device, req), purged by <c>ts</c>) in PostgreSQL.
/// </summary>
public sealed class PostgresCursorStore(NpgsqlDataSource dataSource) : ICursorStore
{
    public async ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT seq FROM cursors WHERE user_id = $1 AND device = $2");
        command.Parameters.Add(Parameter(user));
        command.Parameters.Add(Parameter(device));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long seq ? seq : null;
    }

    public ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        AdvanceCursorsAsync([(user, device, seq)], cancellationToken);

    public async ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        if (cursors.Count == 0) return;
        // One row per device: ON CONFLICT DO UPDATE may not touch a row twice in one statement.
        var highest = new Dictionary<(string, string), long>();
        foreach (var (user, device, seq) in cursors)
            highest[(user, device)] = highest.TryGetValue((user, device), out var other) ? Math.Max(other, seq) : seq;
        await using var command = dataSource.CreateCommand("""
            INSERT INTO cursors AS c (user_id, device, seq)
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ORDER BY 1, 2
            ON CONFLICT (user_id, device) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > c.seq
            """);
        command.Parameters.Add(Parameter(highest.Keys.Select(k => k.Item1).ToArray()));
        command.Parameters.Add(Parameter(highest.Keys.Select(k => k.Item2).ToArray()));
        command.Parameters.Add(Parameter(highest.Values.ToArray()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM sends WHERE ts < $1");
        command.Parameters.Add(Parameter(olderThan));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // The first candidate of each key is inserted unless the key is taken (ON CONFLICT DO NOTHING waits for a writer that
    // holds it uncommitted); the second statement, with a fresh snapshot, answers each candidate with the record that holds.
    private const string Reserve = """
        INSERT INTO sends (sender, device, req, id, conv, ts)
        SELECT DISTINCT ON (sender, device, req) sender, device, req, id, conv, ts
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[])
            WITH ORDINALITY AS t(sender, device, req, id, conv, ts, ord)
        ORDER BY sender, device, req, ord
        ON CONFLICT DO NOTHING
        """;

    private const string Held = """
        SELECT s.id, s.conv, s.ts FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS t(sender, device, req, ord)
        JOIN sends s ON s.sender = t.sender AND s.device = t.device AND s.req = t.req
        ORDER BY t.ord
        """;

    private const string Find = """
        SELECT t.ord, s.id, s.conv, s.ts FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS t(sender, device, req, ord)
        JOIN sends s ON s.sender = t.sender AND s.device = t.device AND s.req = t.req
        """;

    /// <summary>Stage 0's lookup (<see cref="IChatWrites.FindSendsAsync"/>): one statement.</summary>
    internal static async ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0) return [];
        var n = keys.Count;
        var (senders, devices, reqs) = (new string[n], new string[n], new long[n]);
        for (var i = 0; i < n; i++) (senders[i], devices[i], reqs[i]) = (keys[i].From, keys[i].Device, keys[i].Req);
        await using var command = new NpgsqlCommand(Find, connection, tx) { Parameters = { Parameter(senders), Parameter(devices), Parameter(reqs) } };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var records = new SendRecord?[n];
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var i = (int)reader.GetInt64(0) - 1;
            records[i] = keys[i] with { Id = reader.GetInt64(1), Conv = reader.GetString(2), Ts = reader.GetInt64(3) };
        }
        return records;
    }

    /// <summary>Stage 0's write (<see cref="IChatWrites.ReserveSendsAsync"/>): two statements in one round trip.</summary>
    internal static async ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0) return [];
        var n = candidates.Count;
        var (senders, devices, reqs, ids, convs, tss) = (new string[n], new string[n], new long[n], new long[n], new string[n], new long[n]);
        for (var i = 0; i < n; i++)
        {
            var c = candidates[i];
            (senders[i], devices[i], reqs[i], ids[i], convs[i], tss[i]) = (c.From, c.Device, c.Req, c.Id, c.Conv, c.Ts);
        }

        await using var batch = new NpgsqlBatch(connection, tx);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(Reserve)
        {
            Parameters = { Parameter(senders), Parameter(devices), Parameter(reqs), Parameter(ids), Parameter(convs), Parameter(tss) },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(Held) { Parameters = { Parameter(senders), Parameter(devices), Parameter(reqs) } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var held = await ReadAllAsync(reader, r => (Id: r.GetInt64(0), Conv: r.GetString(1), Ts: r.GetInt64(2)), cancellationToken).ConfigureAwait(false);

        var records = new SendRecord[n];
        for (var i = 0; i < n; i++) records[i] = candidates[i] with { Id = held[i].Id, Conv = held[i].Conv, Ts = held[i].Ts };
        return records;
    }
}
