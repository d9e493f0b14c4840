using System.Net;
using System.Net.Http.Json;
using AspireChat.Messaging.Presence;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Push;

/// <summary>Online status: the presence API over real connections, and node expiry by heartbeat TTL.</summary>
public sealed class PresenceTests
{
    [Fact]
    public async Task Presence_api_follows_connect_and_disconnect_of_two_devices()
    {
        await using var server = await GatewayServer.StartAsync();
        // Presence is answered only about users who share a conversation with the asker (alice).
        await server.CreateGroupAsync("alice", "bob", "carol");

        var before = await PresenceAsync(server, "bob", "carol");
        Assert.Equal(["bob", "carol"], before.Select(p => p.User));
        Assert.All(before, p => Assert.False(p.Online));
        Assert.All(before, p => Assert.Null(p.LastSeen));

        var phone = await server.ConnectAsync("bob", "phone");
        await using var laptop = await server.ConnectAsync("bob", "laptop");
        var both = Assert.Single(await PresenceAsync(server, "bob"));
        Assert.True(both.Online);
        Assert.Equal(2, both.Devices);

        await phone.DisposeAsync();
        await Eventually.UntilAsync(async () => (await PresenceAsync(server, "bob"))[0].Devices == 1, "only the laptop is online");

        await laptop.DisposeAsync();
        await Eventually.UntilAsync(async () => !(await PresenceAsync(server, "bob"))[0].Online, "bob is offline");
        var after = (await PresenceAsync(server, "bob"))[0];
        Assert.Equal(0, after.Devices);
        Assert.InRange(after.LastSeen!.Value, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Devices_of_a_node_that_stops_heartbeating_expire_while_live_nodes_stay()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Presence:HeartbeatInterval"] = "00:00:00.100",
            ["Presence:NodeTtl"] = "00:00:02",
        });
        await server.CreateGroupAsync("alice", "bob", "dave");
        await using var bob = await server.ConnectAsync("bob", "phone");
        // Another gateway node registers a device, heartbeats once, then dies (no disconnect ever comes).
        var presence = server.Services.GetRequiredService<IPresenceStore>();
        await presence.ConnectAsync("dave", "tablet", "node-that-dies");
        await presence.HeartbeatAsync("node-that-dies");
        Assert.True((await PresenceAsync(server, "dave"))[0].Online);

        await Eventually.UntilAsync(async () => !(await PresenceAsync(server, "dave"))[0].Online, "dave's node expired", TimeSpan.FromSeconds(10));
        var dave = (await PresenceAsync(server, "dave"))[0];
        Assert.Equal(0, dave.Devices);
        Assert.NotNull(dave.LastSeen);
        Assert.True((await PresenceAsync(server, "bob"))[0].Online, "this node keeps heartbeating");
        Assert.Empty(await presence.GetDevicesAsync("dave"));
    }

    [Fact]
    public async Task Presence_api_needs_a_token_and_valid_user_ids()
    {
        await using var server = await GatewayServer.StartAsync();
        using (var anonymous = await server.Http.GetAsync("/api/presence?users=bob"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        foreach (var query in new[] { "", "?users=", "?users=bob,bad%20id", "?users=" + string.Join(',', Enumerable.Range(0, 101).Select(i => $"u{i}")) })
        {
            using var response = await server.RequestAsync("alice", HttpMethod.Get, "/api/presence" + query);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Store_drops_the_devices_of_an_expired_node_and_asks_it_to_register_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new InMemoryPresenceStore(time, Options.Create(new PresenceOptions { NodeTtl = TimeSpan.FromSeconds(30) }));
        Assert.False(await store.HeartbeatAsync("a"), "a new node registers its devices");
        await store.ConnectAsync("bob", "phone", "a");
        await store.ConnectAsync("bob", "laptop", "b");
        await store.ConnectAsync("carol", "tablet", "b");
        var bLastAlive = time.GetUtcNow().ToUnixTimeMilliseconds();

        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await store.HeartbeatAsync("a"));
        time.Advance(TimeSpan.FromSeconds(15));
        Assert.True(await store.HeartbeatAsync("a"));

        // b has been silent for 35 s > 30 s: its devices are gone, last seen when b last proved alive.
        Assert.Equal(["phone"], (await store.GetDevicesAsync("bob")).Select(d => d.Device));
        var carol = Assert.Single(await store.GetPresenceAsync(["carol"]));
        Assert.False(carol.Online);
        Assert.Equal(bLastAlive, carol.LastSeen);

        // b comes back: presence had given it up, so it is told to register its devices again.
        Assert.False(await store.HeartbeatAsync("b"));
        Assert.True(await store.HeartbeatAsync("b"));
    }

    private static async Task<List<PresenceInfo>> PresenceAsync(GatewayServer server, params string[] users)
    {
        using var response = await server.RequestAsync("alice", HttpMethod.Get, $"/api/presence?users={string.Join(',', users)}");
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ListPresenceInfo))!;
    }
}
