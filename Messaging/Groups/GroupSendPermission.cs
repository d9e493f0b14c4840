using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Groups;

/// <summary>Stage 0 permission: one-to-one is open; a group send needs the group to exist and the sender to be a member.</summary>
public sealed class GroupSendPermission(IGroupStore groups) : ISendPermission
{
    public async ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default)
    {
        if (send.Ope != Ope.Group) return null;
        if (await groups.GetGroupAsync(send.To, cancellationToken).ConfigureAwait(false) is null)
            return new SendRejection(ErrorCodes.NotFound, $"group '{send.To}' does not exist");
        if (await groups.GetRoleAsync(send.To, user, cancellationToken).ConfigureAwait(false) is null)
            return new SendRejection(ErrorCodes.Forbidden, $"you are not a member of group '{send.To}'");
        return null;
    }
}
