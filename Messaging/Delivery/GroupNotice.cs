using AspireChat.Messaging.Groups;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Stage 1 → every gateway node: a large group's message (read diffusion, no inbox copy), or a
/// membership change so each node's local map group → connected members stays right.
/// </summary>
public sealed record GroupNotice(string Gid, ChatMessage? Message, IReadOnlyList<MembershipChange> Changes);
