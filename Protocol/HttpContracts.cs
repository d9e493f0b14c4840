using System.Text.Json.Serialization;

namespace AspireChat.Protocol;

/// <summary><c>POST /api/dev/token</c> request.</summary>
public sealed record TokenRequest
{
    [JsonPropertyName("user")] public string? User { get; init; }
}

/// <summary><c>POST /api/dev/token</c> answer.</summary>
public sealed record TokenResponse
{
    [JsonPropertyName("token")] public required string Token { get; init; }
}

/// <summary><c>GET /api/conversations/{conv}/messages</c> answer: ascending by <c>cseq</c>.</summary>
public sealed record HistoryPage
{
    [JsonPropertyName("items")] public required IReadOnlyList<MsgFrame> Items { get; init; }
}

/// <summary>One conversation of <c>GET /api/conversations</c>: <c>with</c> for one-to-one, <c>gid</c> and <c>name</c> for groups.</summary>
public sealed record ConversationItem
{
    [JsonPropertyName("conv")] public required string Conv { get; init; }
    [JsonPropertyName("ope")] public int Ope { get; init; }
    [JsonPropertyName("with"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? With { get; init; }
    [JsonPropertyName("gid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Gid { get; init; }
    [JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Name { get; init; }
    /// <summary>The newest message (a <c>msg</c> without <c>seq</c>).</summary>
    [JsonPropertyName("last")] public required MsgFrame Last { get; init; }
    /// <summary>Messages after <c>read</c> that others sent (membership events not counted).</summary>
    [JsonPropertyName("unread")] public long Unread { get; init; }
    /// <summary>Unread messages (after <c>read</c>) that mention the user by id or by <c>@all</c>.</summary>
    [JsonPropertyName("mentions")] public long Mentions { get; init; }
    /// <summary>The user's read <c>cseq</c>.</summary>
    [JsonPropertyName("read")] public long Read { get; init; }
    /// <summary>The last message's time, Unix ms.</summary>
    [JsonPropertyName("ts")] public long Ts { get; init; }
    /// <summary>True when the user muted the conversation (no push notifications); absent otherwise.</summary>
    [JsonPropertyName("muted"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Muted { get; init; }
}

/// <summary><c>GET /api/conversations</c> answer: most recent activity first; <c>next</c> is the <c>before</c> of the next page.</summary>
public sealed record ConversationPage
{
    [JsonPropertyName("items")] public required IReadOnlyList<ConversationItem> Items { get; init; }
    [JsonPropertyName("next"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Next { get; init; }
}

/// <summary>A member's progress in <c>GET /api/conversations/{conv}/receipts</c> (0 = nothing yet).</summary>
public sealed record ReceiptItem
{
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("delivered")] public long Delivered { get; init; }
    [JsonPropertyName("read")] public long Read { get; init; }
}

/// <summary><c>GET /api/conversations/{conv}/receipts</c> answer.</summary>
public sealed record ReceiptsPage
{
    [JsonPropertyName("items")] public required IReadOnlyList<ReceiptItem> Items { get; init; }
}

/// <summary><c>PUT /api/conversations/{conv}/settings</c> request and answer: the caller's own settings of one conversation.</summary>
public sealed record ConversationSettings
{
    /// <summary>No push notifications for this conversation.</summary>
    [JsonPropertyName("muted")] public bool Muted { get; init; }
}

/// <summary><c>POST /api/blocks</c> request.</summary>
public sealed record BlockRequest
{
    [JsonPropertyName("user")] public string? User { get; init; }
}

/// <summary>A user on the caller's block list.</summary>
public sealed record BlockedUser
{
    [JsonPropertyName("user")] public required string User { get; init; }
    /// <summary>When it was blocked, Unix ms.</summary>
    [JsonPropertyName("since")] public long Since { get; init; }
}

/// <summary><c>GET /api/blocks</c> answer, by user id.</summary>
public sealed record BlocksPage
{
    [JsonPropertyName("items")] public required IReadOnlyList<BlockedUser> Items { get; init; }
}

/// <summary><c>POST /api/groups</c> request.</summary>
public sealed record CreateGroupRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("members")] public IReadOnlyList<string>? Members { get; init; }
}

/// <summary><c>POST /api/groups</c> answer.</summary>
public sealed record CreateGroupResponse
{
    [JsonPropertyName("gid")] public required string Gid { get; init; }
}

/// <summary>A member in <see cref="GroupInfoResponse"/>; <c>joined</c> is the <c>cseq</c> of the event that added it.</summary>
public sealed record GroupMemberInfo
{
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("role")] public required string Role { get; init; }
    [JsonPropertyName("joined")] public long Joined { get; init; }
}

/// <summary><c>GET /api/groups/{gid}</c> answer.</summary>
public sealed record GroupInfoResponse
{
    [JsonPropertyName("gid")] public required string Gid { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("owner")] public required string Owner { get; init; }
    [JsonPropertyName("members")] public required IReadOnlyList<GroupMemberInfo> Members { get; init; }
}

/// <summary><c>POST /api/groups/{gid}/members</c> request.</summary>
public sealed record AddMembersRequest
{
    [JsonPropertyName("users")] public IReadOnlyList<string>? Users { get; init; }
}

/// <summary>One user in the <c>GET /api/presence</c> answer; <c>lastSeen</c> is Unix milliseconds (now, while online).</summary>
public sealed record PresenceInfo
{
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("online")] public bool Online { get; init; }
    /// <summary>How many of the user's devices are online (not which: device names are not exposed).</summary>
    [JsonPropertyName("devices")] public int Devices { get; init; }
    [JsonPropertyName("lastSeen")] public long? LastSeen { get; init; }
}

/// <summary>The keys of a Web Push subscription (the browser's <c>PushSubscription.toJSON().keys</c>), base64url.</summary>
public sealed record PushSubscriptionKeys
{
    [JsonPropertyName("p256dh")] public string? P256dh { get; init; }
    [JsonPropertyName("auth")] public string? Auth { get; init; }
}

/// <summary>
/// <c>POST /api/push/subscriptions</c> request: how to reach <c>device</c> while it is offline. <c>kind</c> is
/// <c>webpush</c> (endpoint and keys from the browser), <c>webhook</c> (the business server; endpoint optional),
/// <c>fcm</c> or <c>apns</c> (endpoint = the device's registration token).
/// </summary>
public sealed record PushSubscriptionRequest
{
    [JsonPropertyName("device")] public string? Device { get; init; }
    [JsonPropertyName("kind")] public string? Kind { get; init; }
    [JsonPropertyName("endpoint")] public string? Endpoint { get; init; }
    [JsonPropertyName("keys")] public PushSubscriptionKeys? Keys { get; init; }
}

/// <summary>One of the caller's push subscriptions (<c>GET /api/push/subscriptions</c>; keys are not echoed).</summary>
public sealed record PushSubscriptionInfo
{
    [JsonPropertyName("device")] public required string Device { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }
    [JsonPropertyName("created")] public long Created { get; init; }
}

/// <summary><c>GET /api/push/vapid</c> answer: the application server key a browser subscribes with.</summary>
public sealed record VapidKeyResponse
{
    [JsonPropertyName("publicKey")] public required string PublicKey { get; init; }
}
