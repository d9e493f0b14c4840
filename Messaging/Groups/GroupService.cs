using System.Globalization;
using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Groups;

/// <summary>Why a group operation was refused; the HTTP API maps it to a status code.</summary>
public enum GroupRefusal { None, Invalid, NotFound, Forbidden, Conflict, TooMany }

/// <summary>The outcome of a group operation: a value, or a refusal with its reason.</summary>
public readonly record struct GroupResult<T>(T? Value, GroupRefusal Refusal, string? Reason)
{
    public static GroupResult<T> Ok(T value) => new(value, GroupRefusal.None, null);
    public static GroupResult<T> Refused(GroupRefusal refusal, string reason) => new(default, refusal, reason);
}

/// <summary>
/// Group management (docs/protocol.md): checks who may do what, then writes the change as an event into the
/// group's timeline through stage 0 (like a send), and answers once stage 1 has applied it.
/// </summary>
public sealed class GroupService(IGroupStore groups, IConsentStore consent, SendQueue queue, IIdGenerator ids, IOptions<GroupOptions> options, TimeProvider time)
{
    private static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CreationWindow = TimeSpan.FromHours(1);

    public async ValueTask<GroupResult<string>> CreateAsync(string owner, string? name, IReadOnlyList<string>? members, CancellationToken cancellationToken = default)
    {
        name = name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100) return GroupResult<string>.Refused(GroupRefusal.Invalid, "'name' must be 1–100 characters");
        members ??= [];
        if (members.Count > options.Value.MaxAddPerRequest)
            return GroupResult<string>.Refused(GroupRefusal.Invalid, $"at most {options.Value.MaxAddPerRequest} members per request; add the rest with further requests");
        if (members.FirstOrDefault(m => !Identifiers.IsValidId(m)) is { } bad)
            return GroupResult<string>.Refused(GroupRefusal.Invalid, $"member '{bad}' is not a valid user id");
        var everyone = members.Append(owner).Distinct(StringComparer.Ordinal).ToList();
        if (everyone.Count > options.Value.MaxMembers)
            return GroupResult<string>.Refused(GroupRefusal.Invalid, $"a group has at most {options.Value.MaxMembers} members");
        if (await RefusedByBlockAsync(owner, everyone, cancellationToken).ConfigureAwait(false) is { } blocked)
            return GroupResult<string>.Refused(GroupRefusal.Forbidden, blocked);
        // Counted in the store, so the limit holds across gateway nodes; two creates racing may both pass at the limit.
        var created = await groups.CountCreatedSinceAsync(owner, (time.GetUtcNow() - CreationWindow).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        if (created >= options.Value.MaxCreatedPerHour)
            return GroupResult<string>.Refused(GroupRefusal.TooMany, $"at most {options.Value.MaxCreatedPerHour} groups may be created per hour");

        var id = new long[1];
        await ids.NextIdsAsync(id, cancellationToken).ConfigureAwait(false);
        var gid = id[0].ToString(CultureInfo.InvariantCulture);
        await groups.CreateGroupAsync(new GroupRecord(gid, name, owner, Now, GroupFanout.Write, 1), cancellationToken).ConfigureAwait(false);
        await AppendEventAsync(gid, owner, SystemMessageTypes.GroupCreated, GroupEvents.Created(name, owner, everyone), cancellationToken).ConfigureAwait(false);
        await WaitUntilAsync(async () => await groups.GetRoleAsync(gid, owner, cancellationToken).ConfigureAwait(false) is not null, cancellationToken).ConfigureAwait(false);
        return GroupResult<string>.Ok(gid);
    }

    public async ValueTask<GroupResult<(GroupRecord Group, IReadOnlyList<GroupMember> Members)>> GetAsync(string actor, string gid, CancellationToken cancellationToken = default)
    {
        if (await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { } group)
            return GroupResult<(GroupRecord, IReadOnlyList<GroupMember>)>.Refused(GroupRefusal.NotFound, $"group '{gid}' does not exist");
        var members = await groups.GetMembersAsync(gid, cancellationToken).ConfigureAwait(false);
        if (!members.Any(m => m.User == actor))
            return GroupResult<(GroupRecord, IReadOnlyList<GroupMember>)>.Refused(GroupRefusal.Forbidden, "only members may see a group");
        return GroupResult<(GroupRecord, IReadOnlyList<GroupMember>)>.Ok((group, members));
    }

    public async ValueTask<GroupResult<IReadOnlyList<string>>> AddMembersAsync(string actor, string gid, IReadOnlyList<string>? users, CancellationToken cancellationToken = default)
    {
        if (users is null || users.Count == 0) return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.Invalid, "'users' must name at least one user");
        if (users.Count > options.Value.MaxAddPerRequest)
            return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.Invalid, $"at most {options.Value.MaxAddPerRequest} users per request");
        if (users.FirstOrDefault(u => !Identifiers.IsValidId(u)) is { } bad)
            return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.Invalid, $"'{bad}' is not a valid user id");
        if (await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is null)
            return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.NotFound, $"group '{gid}' does not exist");
        var role = await groups.GetRoleAsync(gid, actor, cancellationToken).ConfigureAwait(false);
        if (role is null || !GroupRoles.CanManage(role))
            return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.Forbidden, "only the owner and admins may add members");
        var members = (await groups.GetMembersAsync(gid, cancellationToken).ConfigureAwait(false)).Select(m => m.User).ToHashSet(StringComparer.Ordinal);
        var added = users.Distinct(StringComparer.Ordinal).Where(u => !members.Contains(u)).ToList();
        if (added.Count == 0) return GroupResult<IReadOnlyList<string>>.Ok(added);
        if (members.Count + added.Count > options.Value.MaxMembers)
            return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.Invalid, $"a group has at most {options.Value.MaxMembers} members");
        if (await RefusedByBlockAsync(actor, added, cancellationToken).ConfigureAwait(false) is { } blocked)
            return GroupResult<IReadOnlyList<string>>.Refused(GroupRefusal.Forbidden, blocked);
        await AppendEventAsync(gid, actor, SystemMessageTypes.MembersAdded, GroupEvents.Added(actor, added), cancellationToken).ConfigureAwait(false);
        await WaitUntilAsync(async () => await groups.GetRoleAsync(gid, added[^1], cancellationToken).ConfigureAwait(false) is not null, cancellationToken).ConfigureAwait(false);
        return GroupResult<IReadOnlyList<string>>.Ok(added);
    }

    public async ValueTask<GroupResult<bool>> RemoveMemberAsync(string actor, string gid, string user, CancellationToken cancellationToken = default)
    {
        if (await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { } group)
            return GroupResult<bool>.Refused(GroupRefusal.NotFound, $"group '{gid}' does not exist");
        var actorRole = await groups.GetRoleAsync(gid, actor, cancellationToken).ConfigureAwait(false);
        if (actorRole is null) return GroupResult<bool>.Refused(GroupRefusal.Forbidden, "only members may change a group");
        var userRole = await groups.GetRoleAsync(gid, user, cancellationToken).ConfigureAwait(false);
        if (actor != user && !GroupRoles.CanManage(actorRole))
            return GroupResult<bool>.Refused(GroupRefusal.Forbidden, "only the owner and admins may remove others; a member may remove itself");
        if (userRole is null) return GroupResult<bool>.Refused(GroupRefusal.NotFound, $"'{user}' is not a member");
        if (user == group.Owner) return GroupResult<bool>.Refused(GroupRefusal.Conflict, "the owner cannot leave or be removed");
        if (userRole == GroupRoles.Admin && actorRole != GroupRoles.Owner && actor != user)
            return GroupResult<bool>.Refused(GroupRefusal.Forbidden, "only the owner may remove an admin");
        await AppendEventAsync(gid, actor, SystemMessageTypes.MemberRemoved, GroupEvents.Removed(actor, user), cancellationToken).ConfigureAwait(false);
        await WaitUntilAsync(async () => await groups.GetRoleAsync(gid, user, cancellationToken).ConfigureAwait(false) is null, cancellationToken).ConfigureAwait(false);
        return GroupResult<bool>.Ok(true);
    }

    // A user who blocks the actor cannot be put into a group by it (DESIGN.md §3c); the whole request is refused.
    private async ValueTask<string?> RefusedByBlockAsync(string actor, IReadOnlyCollection<string> users, CancellationToken cancellationToken)
    {
        var blockers = await consent.FindBlockersAsync(actor, users, cancellationToken).ConfigureAwait(false);
        return blockers.Count == 0 ? null : $"'{blockers.Order(StringComparer.Ordinal).First()}' may not be added by you";
    }

    private async ValueTask AppendEventAsync(string gid, string actor, int type, System.Text.Json.JsonElement body, CancellationToken cancellationToken)
    {
        var id = new long[1];
        await ids.NextIdsAsync(id, cancellationToken).ConfigureAwait(false);
        var accepted = new MessageAccepted(id[0], Identifiers.GroupConversation(gid), Ope.Group, actor, "", 0, gid, type, body, null, Now);
        await queue.SubmitEventAsync(accepted, cancellationToken).ConfigureAwait(false);
    }

    // The embedded composition answers an event once stage 1 applied it, so the first check holds; the distributed one
    // answers when the log has it, and stage 1 applies it shortly after: checked with backoff on the TimeProvider.
    private async ValueTask WaitUntilAsync(Func<ValueTask<bool>> condition, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + ApplyTimeout;
        var pause = TimeSpan.FromMilliseconds(2);
        while (!await condition().ConfigureAwait(false))
        {
            if (time.GetUtcNow() > deadline) throw new TimeoutException("the membership change was not applied in time");
            await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(50).Ticks));
        }
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
