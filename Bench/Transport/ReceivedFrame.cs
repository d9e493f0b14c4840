using System.Text.Json;

namespace AspireChat.Bench.Transport;

/// <summary>
/// The fields of a server frame the load clients need, read in one pass with <see cref="Utf8JsonReader"/> (no
/// per-frame object graph: the client shares the machine's two cores with the server it measures).
/// A run message's body carries <c>r</c> (the sender's req) and <c>s</c> (the sender's index in the run).
/// </summary>
internal ref struct ReceivedFrame
{
    public string? T;
    public long? Seq;
    public long Req;
    public bool HasReq;
    public string? Id;
    public string? Conv;
    public long Cseq;
    public string? From;
    public int Type;
    public long BodyReq;
    public int BodySender;
    public string? Code;
    public string? Message;

    public static ReceivedFrame Parse(ReadOnlySpan<byte> utf8)
    {
        var frame = new ReceivedFrame { BodySender = -1 };
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a frame must be a JSON object");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("t"u8)) { reader.Read(); frame.T = reader.GetString(); }
            else if (reader.ValueTextEquals("seq"u8)) { reader.Read(); frame.Seq = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : null; }
            else if (reader.ValueTextEquals("req"u8)) { reader.Read(); if (reader.TokenType == JsonTokenType.Number) { frame.Req = reader.GetInt64(); frame.HasReq = true; } }
            else if (reader.ValueTextEquals("id"u8)) { reader.Read(); frame.Id = reader.GetString(); }
            else if (reader.ValueTextEquals("conv"u8)) { reader.Read(); frame.Conv = reader.GetString(); }
            else if (reader.ValueTextEquals("cseq"u8)) { reader.Read(); frame.Cseq = reader.GetInt64(); }
            else if (reader.ValueTextEquals("from"u8)) { reader.Read(); frame.From = reader.GetString(); }
            else if (reader.ValueTextEquals("type"u8)) { reader.Read(); frame.Type = reader.GetInt32(); }
            else if (reader.ValueTextEquals("code"u8)) { reader.Read(); frame.Code = reader.GetString(); }
            else if (reader.ValueTextEquals("message"u8)) { reader.Read(); frame.Message = reader.GetString(); }
            else if (reader.ValueTextEquals("body"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                ReadMarks(ref reader, ref frame);
            }
            else { reader.Read(); reader.Skip(); }
        }
        return frame;
    }

    /// <summary>The emoji of a Bench reaction: it carries the operation's req and sender like a message body's r and s.</summary>
    public static string ReactionMark(long req, int sender) => $"👍 r{req} s{sender}";

    // A body's r and s; an edit entry keeps them in its inner body, a reaction entry in its emoji.
    private static void ReadMarks(ref Utf8JsonReader reader, ref ReceivedFrame frame)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("r"u8)) { reader.Read(); if (reader.TokenType == JsonTokenType.Number) frame.BodyReq = reader.GetInt64(); }
            else if (reader.ValueTextEquals("s"u8)) { reader.Read(); if (reader.TokenType == JsonTokenType.Number) frame.BodySender = reader.GetInt32(); }
            else if (reader.ValueTextEquals("body"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject) ReadMarks(ref reader, ref frame);
                else reader.Skip();
            }
            else if (reader.ValueTextEquals("emoji"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && ParseReactionMark(reader.GetString()!) is { } mark) (frame.BodyReq, frame.BodySender) = mark;
            }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private static (long Req, int Sender)? ParseReactionMark(string emoji)
    {
        var r = emoji.IndexOf(" r", StringComparison.Ordinal);
        var s = emoji.IndexOf(" s", StringComparison.Ordinal);
        return r >= 0 && s > r && long.TryParse(emoji.AsSpan(r + 2, s - r - 2), out var req) && int.TryParse(emoji.AsSpan(s + 2), out var sender)
            ? (req, sender) : null;
    }
}
