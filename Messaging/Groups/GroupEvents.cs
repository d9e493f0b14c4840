using System.Text.Json;

namespace AspireChat.Messaging.Groups;

/// <summary>
/// Membership events are messages of the group's own timeline (system types &lt; 0): stage 1 applies them
/// at their <c>cseq</c>, so every member agrees on who was in the group for each message.
/// </summary>
public static class GroupEvents
{
    public static JsonElement Created(string name, string owner, IReadOnlyList<string> members) => Json(w =>
    {
        w.WriteString("event", "created");
        w.WriteString("name", name);
        w.WriteString("owner", owner);
        w.WriteStartArray("members");
        foreach (var m in members) w.WriteStringValue(m);
        w.WriteEndArray();
    });

    public static JsonElement Added(string by, IReadOnlyList<string> users) => Json(w =>
    {
        w.WriteString("event", "added");
        w.WriteString("by", by);
        w.WriteStartArray("users");
        foreach (var u in users) w.WriteStringValue(u);
        w.WriteEndArray();
    });

    public static JsonElement Removed(string by, string user) => Json(w =>
    {
        w.WriteString("event", "removed");
        w.WriteString("by", by);
        w.WriteString("user", user);
    });

    /// <summary>The membership changes a system message carries; empty for an ordinary message.</summary>
    public static IReadOnlyList<MembershipChange> ChangesOf(ChatMessage message)
    {
        var body = message.Body;
        switch (message.Type)
        {
            case SystemMessageTypes.GroupCreated:
                var owner = body.GetProperty("owner").GetString()!;
                var changes = new List<MembershipChange> { new(owner, GroupRoles.Owner) };
                foreach (var m in body.GetProperty("members").EnumerateArray())
                {
                    if (m.GetString() is { } user && user != owner) changes.Add(new(user, GroupRoles.Member));
                }
                return changes;
            case SystemMessageTypes.MembersAdded:
                return [.. body.GetProperty("users").EnumerateArray().Select(u => new MembershipChange(u.GetString()!, GroupRoles.Member))];
            case SystemMessageTypes.MemberRemoved:
                return [new MembershipChange(body.GetProperty("user").GetString()!, null)];
            default:
                return [];
        }
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
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
