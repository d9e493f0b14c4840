using AspireChat.Messaging.Groups;

namespace AspireChat.Tests.Storage;

/// <summary>The <see cref="IGroupStore"/> and <see cref="IUserStore"/> contract: every adapter (serving both) runs these same tests.</summary>
public abstract class GroupStoreContract<TStore> where TStore : IGroupStore, IUserStore
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..10];

    /// <summary>A new, initialized store instance over the class's database.</summary>
    protected abstract Task<TStore> OpenStoreAsync();

    private string Gid(string name) => $"{name}.{_run}";
    private string User(string name) => $"{name}.{_run}";

    private async Task<(TStore Store, string Gid)> GroupAsync(string name, params string[] members)
    {
        var store = await OpenStoreAsync();
        var gid = Gid(name);
        Assert.True(await store.CreateGroupAsync(new GroupRecord(gid, "name", User("owner"), 1, GroupFanout.Write, 1)));
        await store.ApplyMembershipAsync(gid, 1, [new(User("owner"), GroupRoles.Owner), .. members.Select(m => new MembershipChange(User(m), GroupRoles.Member))]);
        return (store, gid);
    }

    [SkippableFact]
    public async Task A_group_is_created_once_and_read_back()
    {
        var (store, gid) = await GroupAsync("create");
        Assert.False(await store.CreateGroupAsync(new GroupRecord(gid, "other", "x", 2, GroupFanout.Read, 9)));
        var group = await store.GetGroupAsync(gid);
        Assert.Equal(new GroupRecord(gid, "name", User("owner"), 1, GroupFanout.Write, 1), group);
        Assert.Null(await store.GetGroupAsync(Gid("missing")));
    }

    [SkippableFact]
    public async Task Members_join_at_the_cseq_of_their_event_and_a_replay_keeps_the_join_point()
    {
        var (store, gid) = await GroupAsync("join", "bob");
        await store.ApplyMembershipAsync(gid, 5, [new(User("carol"), GroupRoles.Member)]);
        await store.ApplyMembershipAsync(gid, 5, [new(User("carol"), GroupRoles.Member)]);   // replayed event
        await store.ApplyMembershipAsync(gid, 9, [new(User("bob"), GroupRoles.Member)]);     // already a member

        var members = await store.GetMembersAsync(gid);
        Assert.Equal([User("bob"), User("carol"), User("owner")], members.Select(m => m.User));
        Assert.Equal([1L, 5L, 1L], members.Select(m => m.Joined));
        Assert.Equal(GroupRoles.Owner, await store.GetRoleAsync(gid, User("owner")));
        Assert.Null(await store.GetRoleAsync(gid, User("stranger")));
        Assert.Equal([new MembershipPeriod(1, null)], await store.GetMembershipAsync(gid, User("bob")));
    }

    [SkippableFact]
    public async Task Removal_ends_the_period_and_rejoining_opens_a_new_one()
    {
        var (store, gid) = await GroupAsync("periods", "bob");
        await store.ApplyMembershipAsync(gid, 4, [new(User("bob"), null)]);
        await store.ApplyMembershipAsync(gid, 4, [new(User("bob"), null)]);                 // replayed removal
        Assert.Null(await store.GetRoleAsync(gid, User("bob")));
        Assert.DoesNotContain(gid, await store.GetUserGroupsAsync(User("bob")));

        await store.ApplyMembershipAsync(gid, 8, [new(User("bob"), GroupRoles.Member)]);
        var periods = await store.GetMembershipAsync(gid, User("bob"));
        Assert.Equal([new MembershipPeriod(1, 4), new MembershipPeriod(8, null)], periods);
        Assert.True(periods[0].Covers(4));
        Assert.False(periods[0].Covers(5));

        // A replay of the old removal does not end the new period.
        await store.ApplyMembershipAsync(gid, 4, [new(User("bob"), null)]);
        Assert.Equal(GroupRoles.Member, await store.GetRoleAsync(gid, User("bob")));
        Assert.Empty(await store.GetMembershipAsync(gid, User("never")));
    }

    [SkippableFact]
    public async Task One_call_adds_or_removes_many_members_and_its_replay_changes_nothing()
    {
        var (store, gid) = await GroupAsync("crowd", "bob");
        var crowd = Enumerable.Range(0, 60).Select(i => User($"m{i:00}")).ToArray();
        // A large event: sixty who join, one named twice, and bob, a member since 1, who keeps his join point and role.
        MembershipChange[] added = [.. crowd.Select(u => new MembershipChange(u, GroupRoles.Member)), new(crowd[7], GroupRoles.Member), new(User("bob"), GroupRoles.Admin)];
        await store.ApplyMembershipAsync(gid, 5, added);
        await store.ApplyMembershipAsync(gid, 5, added);                                      // replayed event

        var members = await store.GetMembersAsync(gid);
        Assert.Equal(62, members.Count);
        Assert.All(members.Where(m => crowd.Contains(m.User)), m => Assert.Equal((5L, GroupRoles.Member), (m.Joined, m.Role)));
        Assert.Equal((1L, GroupRoles.Member), members.Where(m => m.User == User("bob")).Select(m => (m.Joined, m.Role)).Single());
        Assert.Equal([new MembershipPeriod(5, null)], await store.GetMembershipAsync(gid, crowd[7]));
        Assert.Equal([new MembershipPeriod(1, null)], await store.GetMembershipAsync(gid, User("bob")));

        var leaving = crowd[..40].Select(u => new MembershipChange(u, null)).ToArray();
        await store.ApplyMembershipAsync(gid, 9, leaving);
        await store.ApplyMembershipAsync(gid, 9, leaving);                                    // replayed removal

        Assert.Equal([User("bob"), .. crowd[40..], User("owner")], (await store.GetMembersAsync(gid)).Select(m => m.User));
        Assert.Equal([new MembershipPeriod(5, 9)], await store.GetMembershipAsync(gid, crowd[0]));
        Assert.Equal([new MembershipPeriod(5, 9)], await store.GetMembershipAsync(gid, crowd[39]));
        Assert.Equal([new MembershipPeriod(5, null)], await store.GetMembershipAsync(gid, crowd[40]));
        Assert.DoesNotContain(gid, await store.GetUserGroupsAsync(crowd[0]));
        Assert.Contains(gid, await store.GetUserGroupsAsync(crowd[59]));
    }

    [SkippableFact]
    public async Task A_users_groups_are_the_ones_it_is_a_member_of_now()
    {
        var (store, first) = await GroupAsync("mine1", "dora");
        var (_, second) = await GroupAsync("mine2", "dora");
        await GroupAsync("notmine", "eve");
        Assert.Equal([first, second], await store.GetUserGroupsAsync(User("dora")));
    }

    [SkippableFact]
    public async Task Fanout_changes_record_where_they_began()
    {
        var (store, gid) = await GroupAsync("fanout");
        await store.SetFanoutAsync(gid, GroupFanout.Read, 12);
        await store.SetFanoutAsync(gid, GroupFanout.Read, 15);                               // no change: keeps 12
        var group = await store.GetGroupAsync(gid);
        Assert.Equal((GroupFanout.Read, 12L), (group!.Fanout, group.FanoutSince));
        await store.SetFanoutAsync(gid, GroupFanout.Write, 20);
        group = await store.GetGroupAsync(gid);
        Assert.Equal((GroupFanout.Write, 20L), (group!.Fanout, group.FanoutSince));
    }

    [SkippableFact]
    public async Task Group_cursors_never_move_backwards()
    {
        var (store, gid) = await GroupAsync("cursor", "bob");
        Assert.Null(await store.GetGroupCursorAsync(User("bob"), "phone", gid));
        await store.AdvanceGroupCursorAsync(User("bob"), "phone", gid, 7);
        await store.AdvanceGroupCursorAsync(User("bob"), "phone", gid, 3);
        await store.AdvanceGroupCursorAsync(User("bob"), "laptop", gid, 2);
        Assert.Equal(7, await store.GetGroupCursorAsync(User("bob"), "phone", gid));
        Assert.Equal(2, await store.GetGroupCursorAsync(User("bob"), "laptop", gid));
    }

    [SkippableFact]
    public async Task Groups_created_are_counted_per_owner_from_a_point_in_time()
    {
        var store = await OpenStoreAsync();
        foreach (var (name, created) in new[] { ("old", 1_000L), ("edge", 5_000L), ("new", 9_000L) })
            Assert.True(await store.CreateGroupAsync(new GroupRecord(Gid($"count-{name}"), "name", User("counter"), created, GroupFanout.Write, 1)));
        Assert.True(await store.CreateGroupAsync(new GroupRecord(Gid("count-other"), "name", User("someone"), 9_000, GroupFanout.Write, 1)));

        Assert.Equal(3, await store.CountCreatedSinceAsync(User("counter"), 0));
        Assert.Equal(2, await store.CountCreatedSinceAsync(User("counter"), 5_000));
        Assert.Equal(0, await store.CountCreatedSinceAsync(User("counter"), 9_001));
        Assert.Equal(0, await store.CountCreatedSinceAsync(User("nobody"), 0));
    }

    [SkippableFact]
    public async Task Initializing_twice_and_upserting_users_is_harmless()
    {
        var store = await OpenStoreAsync();
        await store.InitializeAsync();
        await store.UpsertUserAsync(User("u"));
        await store.UpsertUserAsync(User("u"));
        await store.UpsertUserAsync(User("u"), "U the user");
    }
}
