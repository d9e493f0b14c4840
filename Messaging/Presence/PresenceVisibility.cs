using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Presence;

/// <summary>
/// Whose presence a user may learn (DESIGN §3c): their own, and that of users they share a conversation with — a
/// one-to-one conversation with a message in it, or a group both are members of now. Anyone else stays unknown, so
/// presence cannot be used to watch strangers.
/// </summary>
public sealed class PresenceVisibility(IConversationIndex conversations, IGroupStore groups)
{
    /// <summary>The users of <paramref name="asked"/> that <paramref name="asker"/> may see, in the order asked, without repeats.</summary>
    public async ValueTask<IReadOnlyList<string>> VisibleAsync(string asker, IReadOnlyList<string> asked, CancellationToken cancellationToken = default)
    {
        HashSet<string>? askerGroups = null;
        var visible = new List<string>(asked.Count);
        foreach (var user in asked.Distinct(StringComparer.Ordinal))
        {
            if (user == asker)
            {
                visible.Add(user);
                continue;
            }
            var oneToOne = await conversations.GetConversationAsync(asker, Identifiers.OneToOneConversation(asker, user), cancellationToken).ConfigureAwait(false);
            if (oneToOne.LastCseq > 0)
            {
                visible.Add(user);
                continue;
            }
            askerGroups ??= [.. await groups.GetUserGroupsAsync(asker, cancellationToken).ConfigureAwait(false)];
            if (askerGroups.Count > 0 && (await groups.GetUserGroupsAsync(user, cancellationToken).ConfigureAwait(false)).Any(askerGroups.Contains))
                visible.Add(user);
        }
        return visible;
    }
}
