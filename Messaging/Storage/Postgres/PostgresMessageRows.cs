using System.Text.Json;
using Npgsql;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>How a <c>messages</c> row reads back as a <see cref="ChatMessage"/>: the columns every join selects, in order.</summary>
internal static class PostgresMessageRows
{
    /// <summary>The columns of <c>messages m</c> that <see cref="Read"/> expects, in its order.</summary>
    public const string Columns = "m.id, m.conv, m.cseq, m.ope, m.sender, m.recipient, m.type, m.body, m.ex, m.ts, m.reply, m.mentions";

    /// <summary>The message whose <see cref="Columns"/> start at column <paramref name="o"/>.</summary>
    public static ChatMessage Read(NpgsqlDataReader r, int o) => new(
        r.GetInt64(o), r.GetString(o + 1), r.GetInt64(o + 2), r.GetInt32(o + 3), r.GetString(o + 4), r.GetString(o + 5),
        r.GetInt32(o + 6), Json(r.GetString(o + 7)), r.IsDBNull(o + 8) ? null : Json(r.GetString(o + 8)), r.GetInt64(o + 9))
    {
        Reply = r.IsDBNull(o + 10) ? null : r.GetInt64(o + 10),
        Mentions = r.IsDBNull(o + 11) ? null : r.GetString(o + 11).Split(' '),
    };

    /// <summary>A message's mentions as the <c>mentions</c> column holds them: user ids separated by spaces (ids hold none).</summary>
    public static string? MentionsText(IReadOnlyList<string>? mentions) => mentions is null ? null : string.Join(' ', mentions);

    // Bodies are stored as text (not jsonb), so they read back byte for byte: duplicate keys, spacing, number spelling.
    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>A positional parameter of a known type (the arrays of <c>unnest</c> need their element type).</summary>
    public static NpgsqlParameter<T> Parameter<T>(T value) => new() { TypedValue = value };

    /// <summary>Reads every row of the command's last result set with <paramref name="read"/>.</summary>
    public static async ValueTask<List<T>> ReadAllAsync<T>(NpgsqlDataReader reader, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) rows.Add(read(reader));
        return rows;
    }
}
