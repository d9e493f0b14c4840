using AspireChat.Messaging.Consent;

namespace AspireChat.Tests.Consent;

/// <summary>The <see cref="IConsentStore"/> contract: every adapter runs these same tests (a subclass per adapter).</summary>
public abstract class ConsentStoreContract
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..10];

    /// <summary>A new, initialized store instance over the class's database.</summary>
    protected abstract Task<IConsentStore> OpenStoreAsync();

    private string User(string name) => $"{name}.{_run}";
    private string Conv(string name) => $"g:{name}.{_run}";

    [SkippableFact]
    public async Task A_block_is_one_way_and_kept_from_its_first_time()
    {
        var store = await OpenStoreAsync();
        Assert.True(await store.BlockAsync(User("alice"), User("mallory"), 100));
        Assert.False(await store.BlockAsync(User("alice"), User("mallory"), 200));

        Assert.True(await store.IsBlockedAsync(User("alice"), User("mallory")));
        Assert.False(await store.IsBlockedAsync(User("mallory"), User("alice")));
        Assert.Equal([new BlockEntry(User("mallory"), 100)], await store.GetBlocksAsync(User("alice")));
        Assert.Empty(await store.GetBlocksAsync(User("mallory")));
    }

    [SkippableFact]
    public async Task Unblocking_removes_the_block_once()
    {
        var store = await OpenStoreAsync();
        await store.BlockAsync(User("alice"), User("mallory"), 1);
        Assert.True(await store.UnblockAsync(User("alice"), User("mallory")));
        Assert.False(await store.UnblockAsync(User("alice"), User("mallory")));
        Assert.False(await store.IsBlockedAsync(User("alice"), User("mallory")));
        Assert.Empty(await store.GetBlocksAsync(User("alice")));
        Assert.True(await store.BlockAsync(User("alice"), User("mallory"), 2));
    }

    [SkippableFact]
    public async Task The_block_list_is_ordered_by_user_and_holds_only_its_owners_blocks()
    {
        var store = await OpenStoreAsync();
        foreach (var name in new[] { "zed", "bob", "mia" }) await store.BlockAsync(User("alice"), User(name), 5);
        await store.BlockAsync(User("alicea"), User("eve"), 5);   // an owner whose id extends alice's
        await store.BlockAsync(User("carol"), User("eve"), 5);

        Assert.Equal([User("bob"), User("mia"), User("zed")], (await store.GetBlocksAsync(User("alice"))).Select(b => b.User));
    }

    [SkippableFact]
    public async Task Blockers_are_found_among_a_set_of_users_in_one_call()
    {
        var store = await OpenStoreAsync();
        await store.BlockAsync(User("bob"), User("mallory"), 1);
        await store.BlockAsync(User("dave"), User("mallory"), 1);
        await store.BlockAsync(User("carol"), User("someone"), 1);
        await store.BlockAsync(User("mallory"), User("carol"), 1);
        var members = new[] { User("bob"), User("carol"), User("dave"), User("erin"), User("bob") };

        var blockers = await store.FindBlockersAsync(User("mallory"), members);
        Assert.Equal([User("bob"), User("dave")], blockers.Order(StringComparer.Ordinal));
        Assert.Empty(await store.FindBlockersAsync(User("mallory"), []));
        Assert.Empty(await store.FindBlockersAsync(User("erin"), members));
    }

    [SkippableFact]
    public async Task A_large_set_of_users_is_answered_whole()
    {
        var store = await OpenStoreAsync();
        var members = Enumerable.Range(0, 1_200).Select(i => User($"m{i}")).ToList();
        await store.BlockAsync(members[3], User("mallory"), 1);
        await store.BlockAsync(members[1_150], User("mallory"), 1);
        await store.SetMutedAsync(members[7], Conv("big"), true);
        await store.SetMutedAsync(members[1_199], Conv("big"), true);

        Assert.Equal([members[1_150], members[3]], (await store.FindBlockersAsync(User("mallory"), members)).Order(StringComparer.Ordinal));
        Assert.Equal([members[1_199], members[7]], (await store.FindMutedUsersAsync(Conv("big"), members)).Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public async Task Muting_is_per_user_and_conversation_and_unmuting_undoes_it()
    {
        var store = await OpenStoreAsync();
        await store.SetMutedAsync(User("bob"), Conv("news"), true);
        await store.SetMutedAsync(User("bob"), Conv("news"), true);
        await store.SetMutedAsync(User("bob"), Conv("team"), true);
        await store.SetMutedAsync(User("carol"), Conv("news"), true);
        await store.SetMutedAsync(User("bob"), Conv("team"), false);
        await store.SetMutedAsync(User("bob"), Conv("never"), false);

        Assert.Equal([Conv("news")], await store.FindMutedConversationsAsync(User("bob"), [Conv("news"), Conv("team"), Conv("never")]));
        Assert.Equal([User("bob"), User("carol")],
            (await store.FindMutedUsersAsync(Conv("news"), [User("bob"), User("carol"), User("dave")])).Order(StringComparer.Ordinal));
        Assert.Empty(await store.FindMutedUsersAsync(Conv("team"), [User("bob"), User("carol")]));
        Assert.Empty(await store.FindMutedConversationsAsync(User("bob"), []));
    }

    [SkippableFact]
    public async Task A_one_to_one_conversation_id_with_colons_is_muted_exactly()
    {
        var store = await OpenStoreAsync();
        var conv = $"s:{User("a")}:{User("b")}";
        await store.SetMutedAsync(User("a"), conv, true);
        Assert.Equal([conv], await store.FindMutedConversationsAsync(User("a"), [conv, $"s:{User("a")}:{User("c")}"]));
        Assert.Empty(await store.FindMutedConversationsAsync(User("b"), [conv]));
    }

    [SkippableFact]
    public async Task Initializing_twice_is_harmless()
    {
        var store = await OpenStoreAsync();
        await store.InitializeAsync();
        await store.BlockAsync(User("x"), User("y"), 1);
        Assert.True(await store.IsBlockedAsync(User("x"), User("y")));
    }
}
