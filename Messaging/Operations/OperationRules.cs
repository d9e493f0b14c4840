using System.Text.Json;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// Stage 0's rules for what a send refers to (docs/protocol.md §13): a <c>reply</c> and an operation's <c>target</c> must
/// be a message (type ≥ 0) of the conversation that the caller may read, else <c>not_found</c>; <c>mentions</c> must name
/// members (<c>@all</c> in a group: its owner and admins); and each operation has its own right and window. Called by
/// <see cref="GroupSendPermission"/> after membership of the conversation is established.
/// </summary>
public sealed class OperationRules(ReadableMessages readable, IMessageStateStore states, IGroupStore groups, IOptions<MessageOptions> options, TimeProvider time)
{
    private readonly MessageOptions _options = options.Value;

    /// <summary>Null when what <paramref name="send"/> refers to is allowed; <paramref name="role"/> is the caller's group role (null one-to-one).</summary>
    public async ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, string conv, string? role, CancellationToken cancellationToken)
    {
        if (send.Reply is { } reply && await readable.FindAsync(user, conv, OperationRequests.ParseId(reply)!.Value, cancellationToken).ConfigureAwait(false) is null)
            return new SendRejection(ErrorCodes.NotFound, $"no message '{reply}' to reply to in '{conv}'");
        if (send.Mentions is { } mentions && await MentionsAsync(user, send, mentions, role, cancellationToken).ConfigureAwait(false) is { } refused)
            return refused;
        return OperationTypes.IsOperation(send.Type) ? await OperationAsync(user, send, conv, role, cancellationToken).ConfigureAwait(false) : null;
    }

    private async ValueTask<SendRejection?> MentionsAsync(string user, SendFrame send, IReadOnlyList<string> mentions, string? role, CancellationToken cancellationToken)
    {
        if (mentions is [OperationTypes.MentionAll])
        {
            return send.Ope == Ope.Group && !GroupRoles.CanManage(role!)
                ? new SendRejection(ErrorCodes.Forbidden, "only the group's owner and admins may mention @all")
                : null;
        }
        foreach (var mentioned in mentions)
        {
            var member = send.Ope == Ope.Group
                ? await groups.GetRoleAsync(send.To, mentioned, cancellationToken).ConfigureAwait(false) is not null
                : mentioned == user || mentioned == send.To;
            if (!member) return new SendRejection(ErrorCodes.NotFound, $"'{mentioned}' is not a member of the conversation");
        }
        return null;
    }

    private async ValueTask<SendRejection?> OperationAsync(string user, SendFrame send, string conv, string? role, CancellationToken cancellationToken)
    {
        var target = OperationEntries.TargetOf(send.Body);
        if (await readable.FindAsync(user, conv, target, cancellationToken).ConfigureAwait(false) is not { } message)
            return new SendRejection(ErrorCodes.NotFound, $"no message '{target}' in '{conv}'");
        var state = (await states.GetStatesAsync(conv, [target], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(target);
        var age = time.GetUtcNow().ToUnixTimeMilliseconds() - message.Ts;
        var manager = send.Ope == Ope.Group && GroupRoles.CanManage(role!);
        return send.Type switch
        {
            OperationTypes.Edited when message.From != user => Forbidden("only its sender may edit a message"),
            OperationTypes.Edited when state?.Recalled == true => Forbidden("a recalled message cannot be edited"),
            OperationTypes.Edited when age > _options.EditWindow.TotalMilliseconds => Forbidden("the message is past its edit window"),
            OperationTypes.Recalled when message.From != user && !manager => Forbidden("only its sender (or, in a group, its owner and admins) may recall a message"),
            OperationTypes.Recalled when !manager && age > _options.RecallWindow.TotalMilliseconds => Forbidden("the message is past its recall window"),
            OperationTypes.Reaction when TooManyReactions(send.Body, state, user) => Forbidden($"at most {OperationTypes.MaxReactionsPerUser} distinct emoji per user on one message"),
            OperationTypes.Pinned when send.Ope == Ope.Group && !manager => Forbidden("only the group's owner and admins may pin"),
            _ => null,
        };
    }

    private static bool TooManyReactions(JsonElement body, MessageState? state, string user) =>
        body.GetProperty("on").GetBoolean() && state is not null && state.ReactionsOf(user) >= OperationTypes.MaxReactionsPerUser
        && state.Reactions.Find(r => r.Emoji == body.GetProperty("emoji").GetString())?.Users.Contains(user) != true;

    private static SendRejection Forbidden(string message) => new(ErrorCodes.Forbidden, message);
}
