using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>One page of <see cref="ConversationList.ListAsync"/>: rows most recent first, and the <c>before</c> of the next page.</summary>
public sealed record ConversationListPage(IReadOnlyList<ConversationListItem> Items, long? Next);

/// <summary>A conversation as the list shows it; <c>Group</c> is set for groups; <c>Activity</c> orders the list (see <see cref="ConversationState"/>).</summary>
public sealed record ConversationListItem(string Conv, int Ope, string? With, GroupRecord? Group, ChatMessage Last, long Unread, long Read, long Activity)
{
    /// <summary>Unread messages that mention the user (docs/protocol.md §13.3), among the newest <see cref="ConversationList.MentionScanLimit"/>.</summary>
    public long Mentions { get; init; }
}

/// <summary>
/// The user's conversation list (docs/protocol.md §12.8): a page of the per-user index the pipeline maintains (stage 2), merged
/// with the user's large groups, which have no index rows and are read at their heads (decision 0010).
/// </summary>
public sealed class ConversationList(IConversationIndex store, IGroupStore groups, GroupTimeline timeline, ITimelineStore timelines)
{
    /// <summary>Unread messages of a large group are counted on its timeline up to this many.</summary>
    public const int LargeGroupUnreadLimit = 100;

    /// <summary>Mentions are counted among this many of the newest unread entries (decision 0017).</summary>
    public const int MentionScanLimit = 100;

    public async ValueTask<ConversationListPage> ListAsync(string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        var rows = new List<ConversationListItem>(limit + 1);
        var large = await LargeGroupsAsync(user, cancellationToken).ConfigureAwait(false);
        var known = new Dictionary<string, GroupRecord?>(StringComparer.Ordinal);
        foreach (var entry in await store.ListConversationsAsync(user, before, limit + 1, cancellationToken).ConfigureAwait(false))
        {
            var (state, last) = entry;
            GroupRecord? group = null;
            if (last.Ope == Ope.Group)
            {
                // A group that went large keeps the row of its write-diffusion days: its head row below replaces it.
                if (large.ContainsKey(last.To)) continue;
                group = await GroupAsync(last.To, known, cancellationToken).ConfigureAwait(false);
            }
            var with = last.Ope == Ope.OneToOne && Identifiers.TryParseConversation(state.Conv, out _, out var a, out var b) ? (a == user ? b : a) : null;
            rows.Add(new ConversationListItem(state.Conv, last.Ope, with, group, last, state.Unread, state.Read, state.Activity)
            {
                Mentions = state.Unread == 0 ? 0 : await MentionsAsync(user, state, cancellationToken).ConfigureAwait(false),
            });
        }
        foreach (var group in large.Values)
        {
            if (await LargeGroupRowAsync(user, group, cancellationToken).ConfigureAwait(false) is { } row && (before is null || row.Activity < before)) rows.Add(row);
        }
        rows.Sort((x, y) => y.Activity != x.Activity ? y.Activity.CompareTo(x.Activity) : string.CompareOrdinal(x.Conv, y.Conv));
        if (rows.Count <= limit) return new ConversationListPage(rows, null);

        // next is an activity time, unique per user within the index; a large group's head can still share one with a
        // row: rows sharing the first left-out row's time go to the next page together, so none is skipped.
        var boundary = rows[limit].Activity;
        var cut = limit;
        while (cut > 0 && rows[cut - 1].Activity == boundary) cut--;
        if (cut == 0) cut = limit;
        return new ConversationListPage(rows.GetRange(0, cut), rows[cut - 1].Activity);
    }

    private async ValueTask<Dictionary<string, GroupRecord>> LargeGroupsAsync(string user, CancellationToken cancellationToken)
    {
        var large = new Dictionary<string, GroupRecord>(StringComparer.Ordinal);
        foreach (var gid in await groups.GetUserGroupsAsync(user, cancellationToken).ConfigureAwait(false))
        {
            if (await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is { Fanout: GroupFanout.Read } group) large[gid] = group;
        }
        return large;
    }

    private async ValueTask<ConversationListItem?> LargeGroupRowAsync(string user, GroupRecord group, CancellationToken cancellationToken)
    {
        // The newest message or membership event: operation entries are never a conversation's last (docs/protocol.md §13.3).
        var newest = await timeline.ReadBeforeAsync(group.Gid, user, null, LastScanLimit, cancellationToken).ConfigureAwait(false);
        if (newest?.LastOrDefault(m => !OperationTypes.IsOperation(m.Type)) is not { } last) return null;
        var conv = Identifiers.GroupConversation(group.Gid);
        var read = (await store.GetConversationAsync(user, conv, cancellationToken).ConfigureAwait(false)).Read;
        var page = await timeline.ReadAfterAsync(group.Gid, user, read, LargeGroupUnreadLimit, cancellationToken).ConfigureAwait(false);
        var unread = page?.Items.Count(m => m.From != user && m.Type >= 0) ?? 0;
        return new ConversationListItem(conv, Ope.Group, null, group, last, unread, read, last.Ts)
        {
            Mentions = page?.Items.Count(m => m.Type >= 0 && m.IsMentioned(user)) ?? 0,
        };
    }

    // How many entries back a large group's last message is looked for among operations.
    private const int LastScanLimit = 20;

    // The unread messages (after read, up to the index's last) that mention the user, among the newest MentionScanLimit entries.
    private async ValueTask<long> MentionsAsync(string user, ConversationState state, CancellationToken cancellationToken)
    {
        var newest = await timelines.ReadConversationAsync(state.Conv, state.LastCseq + 1, null, MentionScanLimit, cancellationToken).ConfigureAwait(false);
        return newest.Count(m => m.Cseq > state.Read && m.Type >= 0 && m.IsMentioned(user));
    }

    private async ValueTask<GroupRecord?> GroupAsync(string gid, Dictionary<string, GroupRecord?> known, CancellationToken cancellationToken)
    {
        if (!known.TryGetValue(gid, out var group)) known[gid] = group = await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false);
        return group;
    }
}
