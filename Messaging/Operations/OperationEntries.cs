using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// The bodies of operation entries (docs/protocol.md §13.2) — <c>{"event":"edited","target":…}</c> and its kin — as the
/// session writes them and the views read them, and their erased forms after a recall.
/// </summary>
public static class OperationEntries
{
    /// <summary><c>{}</c>: the body of a recalled message.</summary>
    public static readonly JsonElement EmptyObject = Parse("{}"u8);

    public static JsonElement Edited(long target, JsonElement body, JsonElement? ex) => Json(w =>
    {
        w.WriteString("event", "edited");
        w.WriteString("target", Id(target));
        w.WritePropertyName("body");
        body.WriteTo(w);
        if (ex is { ValueKind: JsonValueKind.Object } e)
        {
            w.WritePropertyName("ex");
            e.WriteTo(w);
        }
    });

    public static JsonElement Recalled(long target, string by) => Json(w =>
    {
        w.WriteString("event", "recalled");
        w.WriteString("target", Id(target));
        w.WriteString("by", by);
    });

    public static JsonElement Reaction(long target, string emoji, bool on) => Json(w =>
    {
        w.WriteString("event", "reaction");
        w.WriteString("target", Id(target));
        w.WriteString("emoji", emoji);
        w.WriteBoolean("on", on);
    });

    public static JsonElement Pinned(long target, bool on) => Json(w =>
    {
        w.WriteString("event", "pinned");
        w.WriteString("target", Id(target));
        w.WriteBoolean("on", on);
    });

    /// <summary>The message an operation entry targets.</summary>
    public static long TargetOf(ChatMessage operation) => TargetOf(operation.Body);

    /// <summary>The message an operation entry's body targets.</summary>
    public static long TargetOf(JsonElement body) =>
        long.Parse(body.GetProperty("target").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An edit entry with its content erased: <c>{"event":"edited","target":…}</c>.</summary>
    public static ChatMessage Erased(ChatMessage edit, long? target = null) => edit with
    {
        Body = Json(w =>
        {
            w.WriteString("event", "edited");
            w.WriteString("target", Id(target ?? TargetOf(edit)));
        }),
        Ex = null,
    };

    private static string Id(long id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static JsonElement Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        return JsonElement.ParseValue(ref reader);
    }

    private static JsonElement Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return Parse(buffer.WrittenSpan);
    }
}
