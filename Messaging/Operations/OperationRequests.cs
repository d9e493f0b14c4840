using System.Globalization;
using System.Text;
using System.Text.Json;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// The well-formedness rules of the operation frames (docs/protocol.md §13.2), and the timeline entry each becomes: a
/// send of the operation's negative type to the conversation, so stage 0 takes it like any send (durable before its
/// ack, idempotent on <c>req</c>, in the device's order). Who may do it is decided by stage 0 (<see cref="OperationRules"/>).
/// </summary>
public static class OperationRequests
{
    public static SendFrame Edit(EditFrame edit, string user, int maxBodyBytes)
    {
        var (ope, to, target) = Check(edit.Req, edit.Conv, edit.Target, user);
        if (edit.Body.ValueKind != JsonValueKind.Object) throw Bad("'body' must be a JSON object");
        if (edit.Ex is { } ex && ex.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)) throw Bad("'ex' must be a JSON object");
        var size = edit.Body.GetRawText().Length + (edit.Ex is { ValueKind: JsonValueKind.Object } e ? e.GetRawText().Length : 0);
        if (size > maxBodyBytes) throw new FrameException(ErrorCodes.TooLarge, $"body and ex are {size} bytes; the limit is {maxBodyBytes}");
        return Entry(edit.Req, ope, to, OperationTypes.Edited, OperationEntries.Edited(target, edit.Body, edit.Ex));
    }

    public static SendFrame Recall(RecallFrame recall, string user)
    {
        var (ope, to, target) = Check(recall.Req, recall.Conv, recall.Target, user);
        return Entry(recall.Req, ope, to, OperationTypes.Recalled, OperationEntries.Recalled(target, user));
    }

    public static SendFrame React(ReactFrame react, string user)
    {
        var (ope, to, target) = Check(react.Req, react.Conv, react.Target, user);
        if (!IsEmoji(react.Emoji)) throw Bad($"'emoji' must be 1–{OperationTypes.MaxEmojiBytes} bytes of UTF-8 without control characters");
        return Entry(react.Req, ope, to, OperationTypes.Reaction, OperationEntries.Reaction(target, react.Emoji, react.On));
    }

    public static SendFrame Pin(PinFrame pin, string user)
    {
        var (ope, to, target) = Check(pin.Req, pin.Conv, pin.Target, user);
        return Entry(pin.Req, ope, to, OperationTypes.Pinned, OperationEntries.Pinned(target, pin.On));
    }

    /// <summary>A message id as the wire carries it (a decimal string); null when it is not one.</summary>
    public static long? ParseId(string? id) =>
        id is { Length: > 0 and <= 19 } && id.All(char.IsAsciiDigit) && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value : null;

    private static bool IsEmoji(string emoji)
    {
        if (emoji.Length == 0 || Encoding.UTF8.GetByteCount(emoji) > OperationTypes.MaxEmojiBytes) return false;
        foreach (var rune in emoji.EnumerateRunes())
        {
            if (Rune.IsControl(rune)) return false;
        }
        return true;
    }

    // The conversation as a send names it (ope, to), and the target; a one-to-one conversation the caller is no party to is forbidden.
    private static (int Ope, string To, long Target) Check(long req, string conv, string target, string user)
    {
        if (req is < 1 or > Identifiers.MaxReq) throw Bad($"'req' must be an integer from 1 to {Identifiers.MaxReq}");
        if (!Identifiers.TryParseConversation(conv, out var ope, out var first, out var second))
            throw Bad($"'conv' must be a conversation id (s:{{a}}:{{b}} or g:{{gid}})");
        if (ParseId(target) is not { } id) throw Bad("'target' must be a message id (a decimal string)");
        if (ope == Ope.Group) return (ope, first, id);
        if (user != first && user != second) throw new FrameException(ErrorCodes.Forbidden, "you are not a party to this conversation");
        return (ope, user == first ? second : first, id);
    }

    private static SendFrame Entry(long req, int ope, string to, int type, JsonElement body) => new() { Req = req, Ope = ope, To = to, Type = type, Body = body };

    private static FrameException Bad(string message) => new(ErrorCodes.BadFrame, message);
}
