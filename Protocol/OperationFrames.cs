using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Protocol;

/// <summary>
/// Timeline entry types and limits of the message operations (docs/protocol.md §13). Each operation is an
/// entry of the conversation's timeline with its own negative <c>type</c>, like a membership event.
/// </summary>
public static class OperationTypes
{
    public const int Edited = -10;
    public const int Recalled = -11;
    public const int Reaction = -12;
    public const int Pinned = -13;

    /// <summary>The mention that names every member (in a one-to-one conversation: the other party).</summary>
    public const string MentionAll = "@all";

    /// <summary>Most user ids one message may mention.</summary>
    public const int MaxMentions = 50;

    /// <summary>Most distinct emoji one user may keep on one message.</summary>
    public const int MaxReactionsPerUser = 20;

    /// <summary>Longest emoji (UTF-8 bytes).</summary>
    public const int MaxEmojiBytes = 64;

    /// <summary>True for the timeline entry types of operations (−10 … −13).</summary>
    public static bool IsOperation(int type) => type is <= Edited and >= Pinned;
}

/// <summary>Replaces the body (and ex) of a message the caller sent; answered like a send.</summary>
public sealed record EditFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Edit;
    [JsonPropertyName("req"), JsonRequired] public long Req { get; init; }
    [JsonPropertyName("conv"), JsonRequired] public string Conv { get; init; } = "";
    [JsonPropertyName("target"), JsonRequired] public string Target { get; init; } = "";
    [JsonPropertyName("body"), JsonRequired] public JsonElement Body { get; init; }
    [JsonPropertyName("ex")] public JsonElement? Ex { get; init; }
}

/// <summary>Withdraws a message: its content is erased for everyone; answered like a send.</summary>
public sealed record RecallFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Recall;
    [JsonPropertyName("req"), JsonRequired] public long Req { get; init; }
    [JsonPropertyName("conv"), JsonRequired] public string Conv { get; init; } = "";
    [JsonPropertyName("target"), JsonRequired] public string Target { get; init; } = "";
}

/// <summary>Adds (<c>on</c>) or removes the caller's reaction <c>emoji</c> on a message; answered like a send.</summary>
public sealed record ReactFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.React;
    [JsonPropertyName("req"), JsonRequired] public long Req { get; init; }
    [JsonPropertyName("conv"), JsonRequired] public string Conv { get; init; } = "";
    [JsonPropertyName("target"), JsonRequired] public string Target { get; init; } = "";
    [JsonPropertyName("emoji"), JsonRequired] public string Emoji { get; init; } = "";
    [JsonPropertyName("on"), JsonRequired] public bool On { get; init; }
}

/// <summary>Pins (<c>on</c>) or unpins a message of the conversation; answered like a send.</summary>
public sealed record PinFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Pin;
    [JsonPropertyName("req"), JsonRequired] public long Req { get; init; }
    [JsonPropertyName("conv"), JsonRequired] public string Conv { get; init; } = "";
    [JsonPropertyName("target"), JsonRequired] public string Target { get; init; } = "";
    [JsonPropertyName("on"), JsonRequired] public bool On { get; init; }
}

/// <summary>One version of a message in <c>GET /api/conversations/{conv}/messages/{id}</c>: the original or an edit.</summary>
public sealed record MessageVersion
{
    [JsonPropertyName("body")] public JsonElement Body { get; init; }
    [JsonPropertyName("ex"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public JsonElement? Ex { get; init; }
    [JsonPropertyName("ts")] public long Ts { get; init; }
}

/// <summary><c>GET /api/conversations/{conv}/pins</c> answer: pinned messages in their current state, most recently pinned first.</summary>
public sealed record PinsPage
{
    [JsonPropertyName("items")] public required IReadOnlyList<MsgFrame> Items { get; init; }
}
