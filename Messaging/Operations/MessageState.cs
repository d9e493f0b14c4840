using System.Text.Json;
using System.Text.Json.Serialization;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Operations;

/// <summary>An edit of a message: the <c>-10</c> timeline entry (<paramref name="Entry"/> at <paramref name="Cseq"/>) and the content it gave.</summary>
public sealed record EditRecord(long Entry, long Cseq, JsonElement Body, JsonElement? Ex, long Ts);

/// <summary>The users who reacted to a message with one emoji, in the order they did.</summary>
public sealed record ReactionRecord(string Emoji, List<string> Users);

/// <summary>
/// A message's state after the operations of its conversation's timeline, applied in <c>cseq</c> order by stage 1
/// (docs/protocol.md §13): its edits, whether it is recalled, its reactions and whether it is pinned. Every view of the
/// server shows a message through it, and a device that applies the same entries ends in the same state.
/// <see cref="Applied"/> is the <c>cseq</c> of the last operation applied: a replayed one (a log delivered twice) is skipped.
/// </summary>
public sealed class MessageState
{
    public required string Conv { get; init; }
    public required long Id { get; init; }
    /// <summary>The message's own <c>cseq</c>, its sender and time.</summary>
    public required long Cseq { get; init; }
    public required string From { get; init; }
    public long Ts { get; init; }
    public long Applied { get; set; }
    public List<EditRecord> Edits { get; set; } = [];
    public bool Recalled { get; set; }
    public string? RecalledBy { get; set; }
    public List<ReactionRecord> Reactions { get; set; } = [];
    /// <summary>The <c>cseq</c> of the pin that holds, null when not pinned: pins are listed most recent first by it.</summary>
    public long? PinnedCseq { get; set; }

    /// <summary>A state with no operation applied yet.</summary>
    public static MessageState Of(ChatMessage message) => new() { Conv = message.Conv, Id = message.Id, Cseq = message.Cseq, From = message.From, Ts = message.Ts };

    /// <summary>How many distinct emoji <paramref name="user"/> holds on the message.</summary>
    public int ReactionsOf(string user) => Reactions.Count(r => r.Users.Contains(user));

    /// <summary>
    /// Applies one operation entry. Returns the timeline entries whose content must now be erased from the store — the
    /// message and its edit entries when this is its recall; the entry itself when it is an edit of a recalled message — or
    /// none. An entry at or below <see cref="Applied"/> was applied before and changes nothing.
    /// </summary>
    public IReadOnlyList<ChatMessage> Apply(ChatMessage operation, ChatMessage? message)
    {
        if (operation.Cseq <= Applied) return [];
        Applied = operation.Cseq;
        var body = operation.Body;
        switch (operation.Type)
        {
            case OperationTypes.Edited when Recalled:
                return [OperationEntries.Erased(operation)];
            case OperationTypes.Edited:
                Edits.Add(new EditRecord(operation.Id, operation.Cseq, body.GetProperty("body").Clone(),
                    body.TryGetProperty("ex", out var ex) && ex.ValueKind == JsonValueKind.Object ? ex.Clone() : null, operation.Ts));
                return [];
            case OperationTypes.Recalled when Recalled:
                return [];
            case OperationTypes.Recalled:
                Recalled = true;
                RecalledBy = operation.From;
                var erased = new List<ChatMessage>(Edits.Count + 1);
                if (message is not null) erased.Add(message with { Body = OperationEntries.EmptyObject, Ex = null });
                foreach (var edit in Edits)
                    erased.Add(OperationEntries.Erased(new ChatMessage(edit.Entry, Conv, edit.Cseq, operation.Ope, From, operation.To, OperationTypes.Edited, default, null, edit.Ts), Id));
                Edits.Clear();
                return erased;
            case OperationTypes.Reaction:
                var emoji = body.GetProperty("emoji").GetString()!;
                var on = body.GetProperty("on").GetBoolean();
                var reaction = Reactions.Find(r => r.Emoji == emoji);
                if (on && reaction?.Users.Contains(operation.From) != true && ReactionsOf(operation.From) < OperationTypes.MaxReactionsPerUser)
                {
                    if (reaction is null) Reactions.Add(reaction = new ReactionRecord(emoji, []));
                    reaction.Users.Add(operation.From);
                }
                else if (!on && reaction is not null && reaction.Users.Remove(operation.From) && reaction.Users.Count == 0)
                {
                    Reactions.Remove(reaction);
                }
                return [];
            case OperationTypes.Pinned:
                PinnedCseq = body.GetProperty("on").GetBoolean() ? operation.Cseq : null;
                return [];
            default:
                return [];
        }
    }

    /// <summary>The message as the views show it: the content of its latest edit, erased when recalled, with reactions and pin.</summary>
    public MsgFrame Show(MsgFrame frame)
    {
        var latest = Edits.Count > 0 ? Edits[^1] : null;
        return frame with
        {
            Body = Recalled ? OperationEntries.EmptyObject : latest?.Body ?? frame.Body,
            Ex = Recalled ? null : latest is null ? frame.Ex : latest.Ex,
            Edited = Recalled ? null : latest?.Ts,
            Recalled = Recalled ? true : null,
            Reactions = Reactions.Count == 0 ? null : Reactions.ToDictionary(r => r.Emoji, r => (IReadOnlyList<string>)[.. r.Users], StringComparer.Ordinal),
            Pinned = PinnedCseq is null ? null : true,
        };
    }

    /// <summary>Every version of the message, oldest first, the original included; empty once recalled.</summary>
    public IReadOnlyList<MessageVersion> Versions(ChatMessage original) => Recalled ? [] :
        [new MessageVersion { Body = original.Body, Ex = original.Ex, Ts = original.Ts }, .. Edits.Select(e => new MessageVersion { Body = e.Body, Ex = e.Ex, Ts = e.Ts })];
}
