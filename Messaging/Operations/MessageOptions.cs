namespace AspireChat.Messaging.Operations;

/// <summary>The windows of message operations (<c>Messages:*</c>, docs/protocol.md §13.2).</summary>
public sealed class MessageOptions
{
    public const string Section = "Messages";

    /// <summary>How long after a message's <c>ts</c> its sender may edit it.</summary>
    public TimeSpan EditWindow { get; set; } = TimeSpan.FromHours(48);

    /// <summary>How long after a message's <c>ts</c> its sender may recall it (a group's owner and admins: any time).</summary>
    public TimeSpan RecallWindow { get; set; } = TimeSpan.FromHours(24);
}
