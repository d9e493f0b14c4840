using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Groups;

/// <summary>A page of a group's timeline as one member may see it.</summary>
public sealed record GroupPage(IReadOnlyList<ChatMessage> Items, long Next, bool More);

/// <summary>
/// Reads a group's timeline for a member, within its membership periods: a new member does not see
/// what came before it joined, a removed member nothing after its removal (docs/protocol.md history, gsync).
/// </summary>
public sealed class GroupTimeline(ITimelineStore store, IGroupStore groups)
{
    /// <summary>Messages with <c>cseq</c> &gt; <paramref name="after"/>, ascending; null when the user was never a member.</summary>
    public async ValueTask<GroupPage?> ReadAfterAsync(string gid, string user, long after, int limit, CancellationToken cancellationToken = default)
    {
        var periods = await groups.GetMembershipAsync(gid, user, cancellationToken).ConfigureAwait(false);
        if (periods.Count == 0) return null;
        var conv = Identifiers.GroupConversation(gid);
        var end = periods[^1].Left ?? long.MaxValue;
        var items = new List<ChatMessage>(limit);
        var cursor = Math.Max(after, periods[0].Joined - 1);
        var more = false;
        while (true)
        {
            var page = await store.ReadConversationAsync(conv, null, cursor, limit + 1, cancellationToken).ConfigureAwait(false);
            foreach (var message in page)
            {
                if (message.Cseq > end) goto done;
                if (periods.Any(p => p.Covers(message.Cseq)))
                {
                    if (items.Count == limit) { more = true; goto done; }
                    items.Add(message);
                }
                cursor = message.Cseq;
            }
            if (page.Count <= limit) break;
        }
    done:
        return new GroupPage(items, items.Count > 0 ? items[^1].Cseq : after, more);
    }

    /// <summary>The newest <paramref name="limit"/> readable messages below <paramref name="before"/>; null when never a member.</summary>
    public async ValueTask<IReadOnlyList<ChatMessage>?> ReadBeforeAsync(string gid, string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        var periods = await groups.GetMembershipAsync(gid, user, cancellationToken).ConfigureAwait(false);
        if (periods.Count == 0) return null;
        var end = periods[^1].Left is { } left ? left + 1 : long.MaxValue;
        var upper = Math.Min(before ?? long.MaxValue, end);
        var conv = Identifiers.GroupConversation(gid);
        var items = new List<ChatMessage>(limit);
        while (items.Count < limit)
        {
            var page = await store.ReadConversationAsync(conv, upper, null, limit, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0) break;
            for (var i = page.Count - 1; i >= 0 && items.Count < limit; i--)
            {
                if (periods.Any(p => p.Covers(page[i].Cseq))) items.Add(page[i]);
            }
            upper = page[0].Cseq;
            if (upper <= periods[0].Joined) break;
        }
        items.Reverse();
        return items;
    }

    /// <summary>The group's newest <c>cseq</c> (0 when empty).</summary>
    public async ValueTask<long> HeadAsync(string gid, CancellationToken cancellationToken = default)
    {
        var last = await store.ReadConversationAsync(Identifiers.GroupConversation(gid), null, null, 1, cancellationToken).ConfigureAwait(false);
        return last.Count > 0 ? last[0].Cseq : 0;
    }
}
