using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Operations;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Groups;

/// <summary>
/// Stage 0 permission, the one place a send is allowed or refused: a one-to-one send needs the recipient not to block
/// the sender (docs/security.md); a group send needs the group to exist and the sender to be a member; then what the send
/// refers to (reply, mentions, an operation's target) follows <see cref="OperationRules"/>.
/// </summary>
public sealed class GroupSendPermission(IGroupStore groups, IConsentStore consent, OperationRules operations) : ISendPermission
{
    public async ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default)
    {
        string? role = null;
        if (send.Ope != Ope.Group)
        {
            // The refusal does not say "blocked": the same words as any other refused one-to-one send.
            if (send.To != user && await consent.IsBlockedAsync(send.To, user, cancellationToken).ConfigureAwait(false))
                return new SendRejection(ErrorCodes.Forbidden, $"you may not send to '{send.To}'");
        }
        else
        {
            if (await groups.GetGroupAsync(send.To, cancellationToken).ConfigureAwait(false) is null)
                return new SendRejection(ErrorCodes.NotFound, $"group '{send.To}' does not exist");
            if ((role = await groups.GetRoleAsync(send.To, user, cancellationToken).ConfigureAwait(false)) is null)
                return new SendRejection(ErrorCodes.Forbidden, $"you are not a member of group '{send.To}'");
        }
        // What the send refers to — a reply, mentions, an operation's target — is checked once membership is known.
        if (send.Reply is null && send.Mentions is null && !OperationTypes.IsOperation(send.Type)) return null;
        return await operations.CheckAsync(user, send, Identifiers.ConversationOf(send.Ope, user, send.To), role, cancellationToken).ConfigureAwait(false);
    }
}
