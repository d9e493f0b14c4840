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
