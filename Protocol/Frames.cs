using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Protocol;

/// <summary>Frame type names (the <c>t</c> field) of protocol v1.</summary>
public static class FrameTypes
{
    public const string Hello = "hello";
    public const string Welcome = "welcome";
    public const string Send = "send";
    public const string Ack = "ack";
    public const string Msg = "msg";
    public const string Sync = "sync";
    public const string Gsync = "gsync";
    public const string Ping = "ping";
    public const string Pong = "pong";
    public const string Error = "error";
    public const string Read = "read";
    public const string Typing = "typing";
    public const string Receipt = "receipt";
    public const string Edit = "edit";
    public const string Recall = "recall";
    public const string React = "react";
    public const string Pin = "pin";
}

/// <summary>Conversation kinds carried in <c>ope</c>.</summary>
public static class Ope
{
    public const int OneToOne = 0;
    public const int Group = 1;
}

// ---------------------------------------------------------------- client → server

/// <summary>First frame of a connection: authenticates the socket and names the device.</summary>
public sealed record HelloFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Hello;
    [JsonPropertyName("token"), JsonRequired] public string Token { get; init; } = "";
    [JsonPropertyName("device"), JsonRequired] public string Device { get; init; } = "";
    [JsonPropertyName("cursor")] public long? Cursor { get; init; }
    [JsonPropertyName("groups")] public Dictionary<string, long>? Groups { get; init; }
}

/// <summary>A message the client wants delivered; <c>req</c> is its idempotency key.</summary>
public sealed record SendFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Send;
    [JsonPropertyName("req"), JsonRequired] public long Req { get; init; }
    [JsonPropertyName("ope"), JsonRequired] public int Ope { get; init; }
    [JsonPropertyName("from")] public string? From { get; init; }
    [JsonPropertyName("to"), JsonRequired] public string To { get; init; } = "";
    [JsonPropertyName("type"), JsonRequired] public int Type { get; init; }
    [JsonPropertyName("body"), JsonRequired] public JsonElement Body { get; init; }
    [JsonPropertyName("ex")] public JsonElement? Ex { get; init; }
    /// <summary>The <c>id</c> of the message this one replies to (same conversation, type ≥ 0).</summary>
    [JsonPropertyName("reply")] public string? Reply { get; init; }
    /// <summary>1–50 member user ids, or <c>["@all"]</c>.</summary>
    [JsonPropertyName("mentions")] public IReadOnlyList<string>? Mentions { get; init; }
}

/// <summary>Client acknowledgement: cumulative inbox <c>seq</c>, or a large group's <c>cseq</c>.</summary>
public sealed record AckFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Ack;
    [JsonPropertyName("seq")] public long? Seq { get; init; }
    [JsonPropertyName("group")] public string? Group { get; init; }
    [JsonPropertyName("cseq")] public long? Cseq { get; init; }
}

/// <summary>Inbox page request.</summary>
public sealed record SyncFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Sync;
    [JsonPropertyName("after"), JsonRequired] public long After { get; init; }
    [JsonPropertyName("limit"), JsonRequired] public int Limit { get; init; }
}

/// <summary>Large-group page request by <c>cseq</c>.</summary>
public sealed record GsyncFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Gsync;
    [JsonPropertyName("group"), JsonRequired] public string Group { get; init; } = "";
    [JsonPropertyName("after"), JsonRequired] public long After { get; init; }
    [JsonPropertyName("limit"), JsonRequired] public int Limit { get; init; }
}

/// <summary>Keep-alive; answered with <see cref="PongFrame"/>.</summary>
public sealed record PingFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Ping;
}

/// <summary>
/// Client → server: marks <c>conv</c> read through <c>cseq</c> (one position per user, never moving back).
/// Server → client: the user read through <c>cseq</c> on another of its devices (docs/protocol.md §12.8).
/// </summary>
public sealed record ReadFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Read;
    [JsonPropertyName("conv"), JsonRequired] public string Conv { get; init; } = "";
    [JsonPropertyName("cseq"), JsonRequired] public long Cseq { get; init; }
}

/// <summary>
/// Client → server: the user is typing in <c>conv</c>. Server → client: <c>user</c> is typing there.
/// Relayed only, never stored.
/// </summary>
public sealed record TypingFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Typing;
    [JsonPropertyName("conv"), JsonRequired] public string Conv { get; init; } = "";
    [JsonPropertyName("user"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? User { get; init; }
}

// ---------------------------------------------------------------- server → client

/// <summary>Answer to a good <c>hello</c>.</summary>
public sealed record WelcomeFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Welcome;
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("device")] public required string Device { get; init; }
    [JsonPropertyName("node")] public required string Node { get; init; }
    [JsonPropertyName("head")] public long Head { get; init; }
    /// <summary>Seconds between the pings the server expects.</summary>
    [JsonPropertyName("heartbeat")] public int Heartbeat { get; init; }
}

/// <summary>The server's acknowledgement of a durable send.</summary>
public sealed record SendAckFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Ack;
    [JsonPropertyName("req")] public long Req { get; init; }
    /// <summary>Snowflake id as a decimal string (64-bit ids exceed JavaScript's 2^53).</summary>
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("conv")] public required string Conv { get; init; }
    [JsonPropertyName("ts")] public long Ts { get; init; }
    /// <summary>The message's <c>cseq</c>, when the acknowledgement point already holds it (embedded mode).</summary>
    [JsonPropertyName("cseq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Cseq { get; init; }
    /// <summary>The sender's own inbox <c>seq</c> of the message, when known at the acknowledgement point (embedded mode).</summary>
    [JsonPropertyName("seq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Seq { get; init; }
}

/// <summary>A delivered message. <c>seq</c> is absent for large-group delivery.</summary>
public sealed record MsgFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Msg;
    [JsonPropertyName("seq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Seq { get; init; }
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("conv")] public required string Conv { get; init; }
    [JsonPropertyName("cseq")] public long Cseq { get; init; }
    [JsonPropertyName("ope")] public int Ope { get; init; }
    [JsonPropertyName("from")] public required string From { get; init; }
    [JsonPropertyName("to")] public required string To { get; init; }
    [JsonPropertyName("type")] public int Type { get; init; }
    [JsonPropertyName("body")] public JsonElement Body { get; init; }
    [JsonPropertyName("ex"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public JsonElement? Ex { get; init; }
    [JsonPropertyName("ts")] public long Ts { get; init; }
    /// <summary>The <c>id</c> of the message this one replies to, as sent.</summary>
    [JsonPropertyName("reply"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Reply { get; init; }
    /// <summary>The user ids (or <c>@all</c>) the message mentions, as sent.</summary>
    [JsonPropertyName("mentions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<string>? Mentions { get; init; }

    // The message's current state: set by the server's views (history, one message, pins, the conversation list),
    // never on sync, gsync or live frames, which carry entries as they were written.

    /// <summary>The time of the latest edit (its body and ex are the message's), when edited.</summary>
    [JsonPropertyName("edited"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Edited { get; init; }
    /// <summary>True once recalled: <c>body</c> is <c>{}</c> and there is no <c>ex</c>.</summary>
    [JsonPropertyName("recalled"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? Recalled { get; init; }
    /// <summary>Emoji → the users who reacted with it, in the order they did; absent when none.</summary>
    [JsonPropertyName("reactions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyDictionary<string, IReadOnlyList<string>>? Reactions { get; init; }
    /// <summary>True while pinned.</summary>
    [JsonPropertyName("pinned"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? Pinned { get; init; }
    /// <summary>Every version, oldest first, the original included (one-message view only; empty once recalled).</summary>
    [JsonPropertyName("edits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<MessageVersion>? Edits { get; init; }
}

/// <summary>Answer to <c>sync</c>: inbox entries ascending by <c>seq</c>.</summary>
public sealed record SyncReplyFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Sync;
    [JsonPropertyName("items")] public required IReadOnlyList<MsgFrame> Items { get; init; }
    [JsonPropertyName("next")] public long Next { get; init; }
    [JsonPropertyName("more")] public bool More { get; init; }
}

/// <summary>Answer to <c>gsync</c>: group messages ascending by <c>cseq</c>.</summary>
public sealed record GsyncReplyFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Gsync;
    [JsonPropertyName("group")] public required string Group { get; init; }
    [JsonPropertyName("items")] public required IReadOnlyList<MsgFrame> Items { get; init; }
    [JsonPropertyName("next")] public long Next { get; init; }
    [JsonPropertyName("more")] public bool More { get; init; }
}

/// <summary>
/// Another member's progress in <c>conv</c>: <c>delivered</c> the highest <c>cseq</c> one of its devices acknowledged,
/// <c>read</c> the highest it marked read; absent when unknown.
/// </summary>
public sealed record ReceiptFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Receipt;
    [JsonPropertyName("conv")] public required string Conv { get; init; }
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("delivered"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Delivered { get; init; }
    [JsonPropertyName("read"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Read { get; init; }
}

/// <summary>Answer to <c>ping</c>.</summary>
public sealed record PongFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Pong;
}

/// <summary>An error; <c>req</c> names the send it answers, when it answers one.</summary>
public sealed record ErrorFrame
{
    [JsonPropertyName("t")] public string T { get; init; } = FrameTypes.Error;
    [JsonPropertyName("code")] public required string Code { get; init; }
    [JsonPropertyName("message")] public required string Message { get; init; }
    [JsonPropertyName("req"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Req { get; init; }
}
