using System.Globalization;
using System.Text.Json.Serialization;

namespace AspireChat.Messaging.Push;

/// <summary>
/// What a notification says, the same for every provider: <c>count</c> new messages for <c>user</c>, the latest
/// from <c>from</c> in <c>conv</c> with inbox <c>seq</c> and message <c>id</c> (a decimal string, like on the wire).
/// It carries no message body: the device syncs from its cursor.
/// </summary>
public sealed record PushPayload(
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("conv")] string Conv,
    [property: JsonPropertyName("seq")] long Seq,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("ts")] long Ts)
{
    /// <summary>True when one of the messages mentions the user (docs/protocol.md §13.1); absent otherwise.</summary>
    [JsonPropertyName("mention"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Mention { get; init; }

    public static PushPayload Of(PushNotification notification, PushSubscription subscription) => new(
        notification.User, subscription.Device, notification.Count, notification.Latest.From, notification.Latest.Conv,
        notification.Latest.Seq, notification.Latest.MessageId.ToString(CultureInfo.InvariantCulture), notification.Latest.Ts)
    {
        Mention = notification.Mention,
    };

    /// <summary>A human-readable line for providers that show an alert (FCM, APNs).</summary>
    public string Text => Count == 1 ? $"New message from {From}" : $"{Count} new messages, the latest from {From}";
}

/// <summary>Source-generated JSON for push payloads.</summary>
[JsonSerializable(typeof(PushPayload))]
public sealed partial class PushJson : JsonSerializerContext;

/// <summary>A JSON request body written field by field (provider formats that need no type of their own).</summary>
internal static class JsonBody
{
    /// <summary>An <c>application/json</c> body: one object whose members <paramref name="members"/> writes.</summary>
    public static HttpContent Create(Action<System.Text.Json.Utf8JsonWriter> members)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }
        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }
}
