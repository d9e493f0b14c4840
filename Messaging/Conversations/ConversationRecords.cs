namespace AspireChat.Messaging.Conversations;

/// <summary>
/// A user's row of the conversation index with its read position (docs/protocol.md §12.8). <c>Activity</c> orders the user's list:
/// the last message's time, moved past the user's previous activity when messages share a millisecond, so it is unique
/// per user and a page boundary never falls inside a tie. <c>Others</c> counts the messages
/// others sent (types ≥ 0) that reached the user's inbox up to <c>LastCseq</c>; <c>OthersAtRead</c> the same count up
/// to <c>Read</c>; their difference is the unread count. <c>LastCseq</c> is 0 when the index has no row (a large group,
/// or a conversation without a message for the user yet).
/// </summary>
public sealed record ConversationState(string User, string Conv, long LastCseq, long Activity, long Others, long Read, long OthersAtRead)
{
    /// <summary>Messages after <see cref="Read"/> that others sent.</summary>
    public long Unread => Math.Max(0, Others - OthersAtRead);
}

/// <summary>A row of the conversation list: the index row and the conversation's newest message the user got.</summary>
public sealed record ConversationEntry(ConversationState State, ChatMessage Last);

/// <summary>A member's receipt position in a conversation: highest <c>cseq</c> delivered to one of its devices, and read.</summary>
public sealed record ReceiptPosition(string User, long Delivered, long Read);

/// <summary>How far a user's devices got in one conversation (a delivered or read position).</summary>
public readonly record struct ConversationPosition(string Conv, long Cseq);
