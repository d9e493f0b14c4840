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
