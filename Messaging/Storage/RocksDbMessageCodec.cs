using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AspireChat.Messaging.Conversations;

namespace AspireChat.Messaging.Storage;

/// <summary>The stored form of a message under its (conv, cseq) key: fixed fields, then the strings with lengths; JSON kept byte for byte.</summary>
internal static class RocksDbMessageCodec
{
    public static byte[] Encode(ChatMessage m)
    {
        var body = m.Body.GetRawText();
        var ex = m.Ex?.GetRawText();
        var mentions = m.Mentions is null ? null : string.Join(' ', m.Mentions);
        var size = 8 + 4 + 4 + 8 + 4 * 4 + Encoding.UTF8.GetByteCount(m.From) + Encoding.UTF8.GetByteCount(m.To)
            + Encoding.UTF8.GetByteCount(body) + (ex is null ? 0 : Encoding.UTF8.GetByteCount(ex))
            + 8 + 4 + (mentions is null ? 0 : Encoding.UTF8.GetByteCount(mentions));
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(span, m.Id);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], m.Ope);
        BinaryPrimitives.WriteInt32BigEndian(span[12..], m.Type);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], m.Ts);
        var at = 24;
        at = WriteText(span, at, m.From);
        at = WriteText(span, at, m.To);
        at = WriteText(span, at, body);
        at = WriteText(span, at, ex);
        // Added with message operations: records written before end after ex, and read back without them.
        BinaryPrimitives.WriteInt64BigEndian(span[at..], m.Reply ?? 0);
        WriteText(span, at + 8, mentions);
        return buffer;
    }

    public static ChatMessage Decode(string conv, long cseq, ReadOnlySpan<byte> span)
    {
        var at = 24;
        var from = ReadText(span, ref at)!;
        var to = ReadText(span, ref at)!;
        var body = ReadText(span, ref at)!;
        var ex = ReadText(span, ref at);
        long? reply = null;
        string? mentions = null;
        if (at < span.Length)
        {
            reply = BinaryPrimitives.ReadInt64BigEndian(span[at..]) is var r and not 0 ? r : null;
            at += 8;
            mentions = ReadText(span, ref at);
        }
        return new ChatMessage(BinaryPrimitives.ReadInt64BigEndian(span), conv, cseq, BinaryPrimitives.ReadInt32BigEndian(span[8..]),
            from, to, BinaryPrimitives.ReadInt32BigEndian(span[12..]), Parse(body), ex is null ? null : Parse(ex), BinaryPrimitives.ReadInt64BigEndian(span[16..]))
        {
            Reply = reply,
            Mentions = mentions?.Split(' '),
        };
    }

    private static int WriteText(Span<byte> span, int at, string? text)
    {
        if (text is null)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[at..], -1);
            return at + 4;
        }
        var length = Encoding.UTF8.GetBytes(text, span[(at + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(span[at..], length);
        return at + 4 + length;
    }

    private static string? ReadText(ReadOnlySpan<byte> span, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(span[at..]);
        at += 4;
        if (length < 0) return null;
        var text = Encoding.UTF8.GetString(span.Slice(at, length));
        at += length;
        return text;
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
