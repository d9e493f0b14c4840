using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// What a user may do in one conversation (docs/protocol.md §12.8): <see cref="Code"/> is null when it is a member, else
/// <c>bad_frame</c> (not a conversation id), <c>not_found</c> (unknown conversation) or <c>forbidden</c> (not a member).
/// <see cref="Head"/> is the conversation's newest <c>cseq</c>.
/// </summary>
public sealed record ConversationAccess(string Conv, int Ope, string? With, GroupRecord? Group, long Head, string? Code = null, string? Message = null)
{
    public bool Allowed => Code is null;

    /// <summary>A read-diffusion group: no receipts are sent and no typing is relayed there.</summary>
    public bool Large => Group is { Fanout: GroupFanout.Read };
}

/// <summary>Checks membership of a conversation and names its other members.</summary>
public sealed class ConversationMembership(ITimelineStore store, IGroupStore groups)
{
    /// <summary>Whether <paramref name="user"/> is a member of <paramref name="conv"/>, and the conversation's head.</summary>
    public async ValueTask<ConversationAccess> CheckAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.TryParseConversation(conv, out var ope, out var first, out var second))
            return new ConversationAccess(conv, 0, null, null, 0, ErrorCodes.BadFrame, $"'{conv}' is not a conversation id (s:{{a}}:{{b}} or g:{{gid}})");
        if (ope == Ope.Group)
        {
            if (await groups.GetGroupAsync(first, cancellationToken).ConfigureAwait(false) is not { } group)
                return new ConversationAccess(conv, ope, null, null, 0, ErrorCodes.NotFound, $"group '{first}' does not exist");
            if (await groups.GetRoleAsync(first, user, cancellationToken).ConfigureAwait(false) is null)
                return new ConversationAccess(conv, ope, null, group, 0, ErrorCodes.Forbidden, $"you are not a member of group '{first}'");
            return new ConversationAccess(conv, ope, null, group, await HeadAsync(conv, cancellationToken).ConfigureAwait(false));
        }
        if (user != first && user != second)
            return new ConversationAccess(conv, ope, null, null, 0, ErrorCodes.Forbidden, "you are not a party to this conversation");
        var head = await HeadAsync(conv, cancellationToken).ConfigureAwait(false);
        if (head == 0) return new ConversationAccess(conv, ope, null, null, 0, ErrorCodes.NotFound, $"conversation '{conv}' has no messages");
        return new ConversationAccess(conv, ope, user == first ? second : first, null, head);
    }

    /// <summary>The members of an allowed conversation other than <paramref name="user"/>.</summary>
    public async ValueTask<IReadOnlyList<string>> OthersAsync(ConversationAccess access, string user, CancellationToken cancellationToken = default)
    {
        if (access.With is { } other) return other == user ? [] : [other];
        if (access.Group is not { } group) return [];
        var members = await groups.GetMembersAsync(group.Gid, cancellationToken).ConfigureAwait(false);
        return [.. members.Select(m => m.User).Where(m => m != user)];
    }

    private async ValueTask<long> HeadAsync(string conv, CancellationToken cancellationToken)
    {
        var last = await store.ReadConversationAsync(conv, null, null, 1, cancellationToken).ConfigureAwait(false);
        return last.Count > 0 ? last[0].Cseq : 0;
    }
}
