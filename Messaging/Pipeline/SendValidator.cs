using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Pipeline;

/// <summary>A refusal of a send: the error code and message the sender is answered with.</summary>
public sealed record SendRejection(string Code, string Message);

/// <summary>Envelope rules of docs/protocol.md §2 for a <c>send</c> by an authenticated user.</summary>
public static class SendValidator
{
    /// <summary>Null when the send is well-formed for <paramref name="user"/>; otherwise why not.</summary>
    public static SendRejection? Validate(SendFrame send, string user, int maxBodyBytes)
    {
        if (send.Req is < 1 or > Identifiers.MaxReq)
            return new(ErrorCodes.BadFrame, $"'req' must be an integer from 1 to {Identifiers.MaxReq}");
        if (send.Ope is not (Ope.OneToOne or Ope.Group))
            return new(ErrorCodes.BadFrame, "'ope' must be 0 (one-to-one) or 1 (group)");
        if (!Identifiers.IsValidId(send.To))
            return new(ErrorCodes.BadFrame, "'to' must match [A-Za-z0-9_.-]{1,64}");
        if (send.Type < 0)
            return new(ErrorCodes.BadFrame, "'type' must not be negative (negative types are the server's membership events)");
        if (send.Body.ValueKind != JsonValueKind.Object)
            return new(ErrorCodes.BadFrame, "'body' must be a JSON object");
        if (send.Ex is { } ex && ex.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            return new(ErrorCodes.BadFrame, "'ex' must be a JSON object");
        if (send.From is not null && send.From != user)
            return new(ErrorCodes.Forbidden, "'from' must be the authenticated user");
        if (send.Reply is { } reply && Operations.OperationRequests.ParseId(reply) is null)
            return new(ErrorCodes.BadFrame, "'reply' must be a message id (a decimal string)");
        if (send.Mentions is { } mentions && MentionsProblem(mentions) is { } problem)
            return new(ErrorCodes.BadFrame, problem);
        var size = send.Body.GetRawText().Length + (send.Ex is { ValueKind: JsonValueKind.Object } e ? e.GetRawText().Length : 0);
        if (size > maxBodyBytes)
            return new(ErrorCodes.TooLarge, $"body and ex are {size} bytes; the limit is {maxBodyBytes}");
        return null;
    }

    // 1–50 distinct user ids, or exactly ["@all"].
    private static string? MentionsProblem(IReadOnlyList<string> mentions)
    {
        if (mentions is [OperationTypes.MentionAll]) return null;
        if (mentions.Count is < 1 or > OperationTypes.MaxMentions)
            return $"'mentions' must hold 1 to {OperationTypes.MaxMentions} user ids, or be [\"@all\"]";
        if (!mentions.All(Identifiers.IsValidId)) return "'mentions' must hold user ids ([A-Za-z0-9_.-]{1,64}), or be [\"@all\"] alone";
        if (mentions.Distinct(StringComparer.Ordinal).Count() != mentions.Count) return "'mentions' must not name a user twice";
        return null;
    }
}
