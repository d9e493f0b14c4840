using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Groups;
using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// The groups side of device sessions (decision 0008): where a hello resumes each of its user's large groups, the
/// catch-up page it gets for each, <c>gsync</c> pages and group acks. Large groups have no inbox copies: a device
/// follows each by its own group cursor.
/// </summary>
public sealed class SessionGroups(IGroupStore groups, IUserStore users, GroupTimeline timeline, ReadPositions reads, IOptions<GroupOptions> options)
{
    private readonly GroupOptions _options = options.Value;

    /// <summary>The groups the user is a member of now.</summary>
    public ValueTask<IReadOnlyList<string>> OfUserAsync(string user, CancellationToken cancellationToken) => groups.GetUserGroupsAsync(user, cancellationToken);

    /// <summary>Records the user (<c>user_info</c>) as seen.</summary>
    public ValueTask RecordUserAsync(string user, CancellationToken cancellationToken) => users.UpsertUserAsync(user, cancellationToken: cancellationToken);

    /// <summary>
    /// Where each large group among <paramref name="gids"/> resumes for the device: the hello's <c>groups</c>, else the
    /// cursor recorded for the device, else — the first time the device is here for the group — the join (a device seen
    /// before, away when its user joined) or the head (a new device starts live). Recorded, so that a device that goes away
    /// before there is anything to acknowledge resumes there and not from a later head.
    /// </summary>
    public async ValueTask<IReadOnlyList<(string Gid, long After)>> ResumePointsAsync(
        string user, string device, IReadOnlyList<string> gids, IReadOnlyDictionary<string, long>? given, bool deviceKnown, CancellationToken cancellationToken)
    {
        var resumes = new List<(string, long)>();
        foreach (var gid in gids)
        {
            if (await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { Fanout: GroupFanout.Read } group) continue;
            long cursor;
            if (given is not null && given.TryGetValue(gid, out var listed)) cursor = listed;
            else if (await users.GetGroupCursorAsync(user, device, gid, cancellationToken).ConfigureAwait(false) is { } recorded) cursor = recorded;
            else
            {
                var periods = deviceKnown ? await groups.GetMembershipAsync(gid, user, cancellationToken).ConfigureAwait(false) : [];
                cursor = periods.Count > 0 && periods[^1].Left is null
                    ? periods[^1].Joined - 1
                    : await timeline.HeadAsync(gid, cancellationToken).ConfigureAwait(false);
                await users.AdvanceGroupCursorAsync(user, device, gid, cursor, cancellationToken).ConfigureAwait(false);
            }
            // What came before the group went large reached this device through its inbox.
            resumes.Add((gid, Math.Max(cursor, group.FanoutSince - 1)));
        }
        return resumes;
    }

    /// <summary>Most bytes of messages one hello's catch-up writes over all its groups (<c>Groups:HelloCatchUpBytes</c>).</summary>
    public int CatchUpBytes => _options.HelloCatchUpBytes;

    /// <summary>
    /// A hello's catch-up page of one group: its messages after <paramref name="after"/>, as frames — at most
    /// <c>Groups:HelloPage</c> of them and at most <paramref name="bytes"/> bytes (the rest follows by <c>gsync</c>).
    /// </summary>
    public async ValueTask<(IReadOnlyList<(long Cseq, byte[] Frame)> Page, long End)> CatchUpPageAsync(
        string gid, string user, long after, long bytes, CancellationToken cancellationToken)
    {
        if (bytes <= 0) return ([], after);
        var page = await timeline.ReadAfterAsync(gid, user, after, _options.HelloPage, cancellationToken).ConfigureAwait(false);
        var frames = new List<(long Cseq, byte[] Frame)>();
        foreach (var message in page?.Items ?? [])
        {
            var frame = FrameCodec.Write(message.ToFrame());
            if ((bytes -= frame.Length) < 0) break;
            frames.Add((message.Cseq, frame));
        }
        return (frames, frames.Count > 0 ? frames[^1].Cseq : after);
    }

    /// <summary>A <c>gsync</c> page; throws <see cref="FrameException"/> for an unknown group or a non-member.</summary>
    public async ValueTask<GsyncReplyFrame> SyncAsync(string user, GsyncFrame gsync, CancellationToken cancellationToken)
    {
        if (!Identifiers.IsValidId(gsync.Group) || await groups.GetGroupAsync(gsync.Group, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.NotFound, $"group '{gsync.Group}' does not exist");
        var page = await timeline.ReadAfterAsync(gsync.Group, user, gsync.After, gsync.Limit, cancellationToken).ConfigureAwait(false)
            ?? throw new FrameException(ErrorCodes.Forbidden, $"you are not a member of group '{gsync.Group}'");
        return new GsyncReplyFrame { Group = gsync.Group, Items = [.. page.Items.Select(m => m.ToFrame())], Next = page.Next, More = page.More };
    }

    /// <summary>A group ack: records the device's group cursor and the user's delivered position.</summary>
    public async ValueTask AcknowledgeAsync(string user, string device, string gid, long cseq, CancellationToken cancellationToken)
    {
        if (await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.NotFound, $"group '{gid}' does not exist");
        if (await groups.GetRoleAsync(gid, user, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.Forbidden, $"you are not a member of group '{gid}'");
        await users.AdvanceGroupCursorAsync(user, device, gid, cseq, cancellationToken).ConfigureAwait(false);
        await reads.GroupDeliveredAsync(user, gid, cseq, cancellationToken).ConfigureAwait(false);
    }
}
