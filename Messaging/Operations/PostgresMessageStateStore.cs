using System.Text.Json;
using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// Message states in PostgreSQL: <c>message_states</c>, one row per (conv, id) with the state as JSON text and the
/// <c>cseq</c> of its pin (indexed, for the pins of a conversation).
/// </summary>
public sealed class PostgresMessageStateStore(NpgsqlDataSource dataSource) : IMessageStateStore
{
    public async ValueTask<IReadOnlyDictionary<long, MessageState>> GetStatesAsync(string conv, IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0) return new Dictionary<long, MessageState>();
        await using var command = dataSource.CreateCommand("SELECT state FROM message_states WHERE conv = $1 AND id = ANY($2)");
        command.Parameters.Add(Parameter(conv));
        command.Parameters.Add(Parameter(ids.ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var states = await ReadAllAsync(reader, r => Decode(r.GetString(0)), cancellationToken).ConfigureAwait(false);
        return states.ToDictionary(s => s.Id);
    }

    public async ValueTask<IReadOnlyList<MessageState>> GetPinnedAsync(string conv, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT state FROM message_states WHERE conv = $1 AND pinned_cseq IS NOT NULL ORDER BY pinned_cseq DESC LIMIT $2");
        command.Parameters.Add(Parameter(conv));
        command.Parameters.Add(Parameter(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, r => Decode(r.GetString(0)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stage 1's write (<see cref="Storage.IChatWrites.PutMessageStatesAsync"/>): every state of the batch in one statement.</summary>
    internal static async ValueTask PutAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<MessageState> states, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO message_states AS s (conv, id, state, pinned_cseq)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
            ON CONFLICT (conv, id) DO UPDATE SET state = excluded.state, pinned_cseq = excluded.pinned_cseq
            """, connection, tx);
        command.Parameters.Add(Parameter(states.Select(s => s.Conv).ToArray()));
        command.Parameters.Add(Parameter(states.Select(s => s.Id).ToArray()));
        command.Parameters.Add(Parameter(states.Select(s => JsonSerializer.Serialize(s, MessagingJson.Default.MessageState)).ToArray()));
        command.Parameters.Add(Parameter(states.Select(s => s.PinnedCseq).ToArray()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static MessageState Decode(string json) => JsonSerializer.Deserialize(json, MessagingJson.Default.MessageState)!;
}
