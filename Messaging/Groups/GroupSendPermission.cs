using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Groups;

/// <summary>
/// Stage 0 permission, the one place a send is allowed or refused: a one-to-one send needs the recipient not to block
/// the sender (DESIGN.md §3c); a group send needs the group to exist and the sender to be a member.
/// </summary>
public sealed class GroupSendPermission(IGroupStore groups, IConsentStore consent) : ISendPermission
{
    public async ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default)
    {
        if (send.Ope != Ope.Group)
        {
            // The refusal does not say "blocked": the same words as any other refused one-to-one send.
            return send.To != user && await consent.IsBlockedAsync(send.To, user, cancellationToken).ConfigureAwait(false)
                ? new SendRejection(ErrorCodes.Forbidden, $"you may not send to '{send.To}'")
                : null;
        }
        if (await groups.GetGroupAsync(send.To, cancellationToken).ConfigureAwait(false) is null)
            return new SendRejection(ErrorCodes.NotFound, $"group '{send.To}' does not exist");
        if (await groups.GetRoleAsync(send.To, user, cancellationToken).ConfigureAwait(false) is null)
            return new SendRejection(ErrorCodes.Forbidden, $"you are not a member of group '{send.To}'");
        return null;
    }
}
