using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// What operations made of one message (docs/protocol.md §13), as this device applied them in <c>cseq</c> order: the
/// same fields the server's views carry. <see cref="ApplyTo"/> shows a message the way the server's history would.
/// </summary>
public sealed record MessageState
{
    internal static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoReactions = new Dictionary<string, IReadOnlyList<string>>();

    public required string Conv { get; init; }
    public required string Id { get; init; }
    /// <summary>The current content when it is not the original's: after an edit, <c>{}</c> once recalled, or as a
    /// server view showed it. Null while the message's own body stands.</summary>
    public JsonElement? Body { get; init; }
    /// <summary>The current extension, when <see cref="Body"/> is set (null: none).</summary>
    public JsonElement? Ex { get; init; }
    /// <summary>The time of the edit whose content stands, when edited.</summary>
    public long? Edited { get; init; }
    /// <summary>True once recalled: the content is erased.</summary>
    public bool Recalled { get; init; }
    /// <summary>Emoji → the users who reacted with it, in the order they did.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Reactions { get; init; } = NoReactions;
    public bool Pinned { get; init; }

    /// <summary><paramref name="message"/> in this state: current body and ex, <c>edited</c>, <c>recalled</c>,
    /// <c>reactions</c> and <c>pinned</c> set as the server's views set them.</summary>
    public MsgFrame ApplyTo(MsgFrame message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message with
        {
            Body = Body ?? message.Body,
            Ex = Body is null ? message.Ex : Ex,
            Edited = Edited,
            Recalled = Recalled ? true : null,
            Reactions = Reactions.Count > 0 ? Reactions : null,
            Pinned = Pinned ? true : null,
        };
    }
}

/// <summary>An operation entry (<c>type</c> −10 … −13) this device applied, with the target's state after it.</summary>
public sealed class MessageOperationEventArgs(MsgFrame entry, MessageState state) : EventArgs
{
    /// <summary>The timeline entry as delivered.</summary>
    public MsgFrame Entry { get; } = entry;
    /// <summary>The target message's state after this entry (and every other one held, in <c>cseq</c> order).</summary>
    public MessageState State { get; } = state;
    public string Conv => Entry.Conv;
    /// <summary>The id of the message operated on.</summary>
    public string Target => State.Id;
    /// <summary>The user who made the operation.</summary>
    public string By => Entry.From;
    /// <summary>The reaction's emoji (reactions only).</summary>
    public string? Emoji => Entry.Body.ValueKind == JsonValueKind.Object && Entry.Body.TryGetProperty("emoji", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
    /// <summary>Added or removed (reactions), pinned or unpinned (pins).</summary>
    public bool On => Entry.Body.ValueKind == JsonValueKind.Object && Entry.Body.TryGetProperty("on", out var on) && on.ValueKind == JsonValueKind.True;
}
