namespace AspireChat.Messaging.Groups;

/// <summary>
/// The group part of the store: groups and members with their join points (users and their devices' group cursors
/// are <see cref="IUserStore"/>'s). Membership changes are applied by stage 1 only, at the <c>cseq</c> of
/// the event that carries them, so membership and message order agree (docs/protocol.md §9).
/// </summary>
public interface IGroupStore
{
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates the group record; false when the gid exists.</summary>
    ValueTask<bool> CreateGroupAsync(GroupRecord group, CancellationToken cancellationToken = default);

    /// <summary>How many groups <paramref name="owner"/> created at or after <paramref name="since"/> (Unix ms): <c>Groups:MaxCreatedPerHour</c>.</summary>
    ValueTask<int> CountCreatedSinceAsync(string owner, long since, CancellationToken cancellationToken = default);

    ValueTask<GroupRecord?> GetGroupAsync(string gid, CancellationToken cancellationToken = default);

    /// <summary>Current members, ordered by user id.</summary>
    ValueTask<IReadOnlyList<GroupMember>> GetMembersAsync(string gid, CancellationToken cancellationToken = default);

    /// <summary>The user's current role, or null when not a member now.</summary>
    ValueTask<string?> GetRoleAsync(string gid, string user, CancellationToken cancellationToken = default);

    /// <summary>Every period the user was (or is) a member, oldest first.</summary>
    ValueTask<IReadOnlyList<MembershipPeriod>> GetMembershipAsync(string gid, string user, CancellationToken cancellationToken = default);

    /// <summary>Groups the user is a member of now.</summary>
    ValueTask<IReadOnlyList<string>> GetUserGroupsAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies changes at <paramref name="cseq"/>: an added user joins (a member already keeps its join point),
    /// a removed user's current period ends there. Idempotent, so a replayed event changes nothing.
    /// </summary>
    ValueTask ApplyMembershipAsync(string gid, long cseq, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken = default);

    /// <summary>Records that messages from <paramref name="since"/> on use <paramref name="fanout"/>.</summary>
    ValueTask SetFanoutAsync(string gid, GroupFanout fanout, long since, CancellationToken cancellationToken = default);
}
