namespace AspireChat.Messaging.Groups;

/// <summary>Member roles: the creator is the owner; owner and admins manage members.</summary>
public static class GroupRoles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Member = "member";

    public static bool CanManage(string role) => role is Owner or Admin;
}

/// <summary>How a group's messages reach its members (decision 0009).</summary>
public enum GroupFanout
{
    /// <summary>One inbox entry per member (groups of at most <c>Groups:WriteDiffusionLimit</c>).</summary>
    Write,
    /// <summary>No inbox copies: live notices, and members sync the group by <c>cseq</c>.</summary>
    Read,
}

/// <summary>A group (<c>group_info</c>). <c>FanoutSince</c> is the first <c>cseq</c> sent with the current fan-out.</summary>
public sealed record GroupRecord(string Gid, string Name, string Owner, long Created, GroupFanout Fanout, long FanoutSince);

/// <summary>A current member (<c>group_members</c>): joined at the <c>cseq</c> of the event that added it.</summary>
public sealed record GroupMember(string User, string Role, long Joined);

/// <summary>A period of membership: the member may read <c>cseq</c> in [Joined, Left] (Left null: still a member).</summary>
public sealed record MembershipPeriod(long Joined, long? Left)
{
    public bool Covers(long cseq) => cseq >= Joined && (Left is null || cseq <= Left);
}

/// <summary>A membership change, applied by stage 1 at the <c>cseq</c> of the event that carries it.</summary>
public sealed record MembershipChange(string User, string? Role)
{
    /// <summary>Null role: the user leaves (or is removed).</summary>
    public bool Removes => Role is null;
}

/// <summary>Server-reserved message types: membership events in the group timeline (docs/protocol.md §2 allows the server these).</summary>
public static class SystemMessageTypes
{
    public const int GroupCreated = -1;
    public const int MembersAdded = -2;
    public const int MemberRemoved = -3;

    public static bool IsSystem(int type) => type < 0;
}
