using System.Net;
using AspireChat.Messaging.Groups;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>DESIGN.md §3c, sizes: users per create or add request, groups created per hour, and stage 1's bounded member cache.</summary>
public sealed class GroupLimitsTests
{
    [Fact]
    public async Task A_create_or_add_naming_more_users_than_MaxAddPerRequest_is_refused_400()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Groups:MaxAddPerRequest"] = "3" });
        string[] three = ["u1", "u2", "u3"], four = ["u1", "u2", "u3", "u4"];

        using (var tooMany = await server.RequestAsync("alice", HttpMethod.Post, "/api/groups", new { name = "big", members = four }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
            Assert.Contains("at most 3", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var gid = await server.CreateGroupAsync("alice", three);
        using (var addTooMany = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "v1", "v2", "v3", "v4" } }))
            Assert.Equal(HttpStatusCode.BadRequest, addTooMany.StatusCode);
        using var addThree = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "v1", "v2", "v3" } });
        Assert.Equal(HttpStatusCode.NoContent, addThree.StatusCode);
    }

    [Fact]
    public async Task Creating_more_groups_than_MaxCreatedPerHour_is_refused_429_also_after_a_restart()
    {
        var settings = new Dictionary<string, string?> { ["Groups:MaxCreatedPerHour"] = "2" };
        var data = TempDirectory.Create();
        await using (var server = await GatewayServer.StartAsync(settings, data))
        {
            await server.CreateGroupAsync("alice", "bob");
            await server.CreateGroupAsync("alice", "bob");
            using var third = await server.RequestAsync("alice", HttpMethod.Post, "/api/groups", new { name = "third", members = new[] { "bob" } });
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
            // The limit is per user.
            await server.CreateGroupAsync("bob", "alice");
        }
        // Counted in the store, not in the process: a new process (or another gateway node on the store) still refuses.
        await using var restarted = await GatewayServer.StartAsync(settings, data);
        using var fourth = await restarted.RequestAsync("alice", HttpMethod.Post, "/api/groups", new { name = "fourth", members = new[] { "bob" } });
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
    }

    [Fact]
    public void The_member_cache_drops_the_least_recently_used_groups_past_its_member_bound()
    {
        var cache = new GroupMemberCache(capacity: 10);
        cache.GetOrAdd("a", View(4));
        cache.GetOrAdd("b", View(4));
        Assert.True(cache.TryGet("a", out _));   // a is now more recently used than b
        cache.GetOrAdd("c", View(4));

        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("c", out _));
        Assert.Equal((2, 8L), (cache.Count, cache.Members));
    }

    [Fact]
    public void A_group_that_grew_is_weighed_again_and_one_larger_than_the_bound_stays_alone()
    {
        var cache = new GroupMemberCache(capacity: 10);
        cache.GetOrAdd("a", View(3));
        var grows = cache.GetOrAdd("b", View(3));
        for (var i = 0; i < 20; i++) grows.Members[$"new{i}"] = GroupRoles.Member;

        Assert.True(cache.TryGet("b", out var b));
        Assert.Same(grows, b);
        Assert.False(cache.TryGet("a", out _));
        Assert.Equal((1, 23L), (cache.Count, cache.Members));
    }

    [Fact]
    public async Task Stage_one_keeps_delivering_to_groups_whose_views_were_dropped()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Groups:MemberCacheSize"] = "2" });
        var first = await server.CreateGroupAsync("alice", "bob");
        var second = await server.CreateGroupAsync("alice", "carol");
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice");

        // Each group has two members: caching the second drops the first, which is loaded again from the store.
        await alice.SendChatAsync(1, second, "to carol's group", ope: 1);
        await alice.SendChatAsync(2, first, "to bob's group", ope: 1);
        await alice.ExpectManyAsync("ack", 2);
        var msg = await bob.ExpectAsync("msg", TestSocket.DefaultTimeout);
        while (msg.GetProperty("type").GetInt32() < 0) msg = await bob.ExpectAsync("msg");
        Assert.Equal("to bob's group", msg.GetProperty("body").GetProperty("text").GetString());
    }

    private static GroupMemberView View(int members) =>
        new(Enumerable.Range(0, members).ToDictionary(i => $"m{i}", _ => GroupRoles.Member, StringComparer.Ordinal), GroupFanout.Write);
}
