namespace AspireChat.Messaging.Groups;

/// <summary>Stage 1's view of one group: its members (user → role) and fan-out, changed in place as membership events are sequenced.</summary>
public sealed class GroupMemberView(Dictionary<string, string> members, GroupFanout fanout)
{
    public Dictionary<string, string> Members { get; } = members;
    public GroupFanout Fanout { get; set; } = fanout;
}
