using AspireChat.Messaging.Presence;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Presence;

/// <summary>
/// The <see cref="IPresenceStore"/> contract (docs/configuration.md, decision 0006), run against every adapter. Times the store writes
/// come from <see cref="Clock"/>, a fake clock; how a node's TTL passes is the adapter's (<see cref="PassNodeTtlAsync"/>):
/// the in-memory store counts it on that clock, Redis on its own (key TTLs), so there the test waits for it.
/// </summary>
public abstract class PresenceStoreContract
{
    /// <summary>The TTL of the tests in which nodes expire; short, since Redis' expiry runs on real time.</summary>
    protected static readonly TimeSpan ShortTtl = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan LongTtl = TimeSpan.FromMinutes(5);
    private readonly string _run = Guid.NewGuid().ToString("n")[..8];

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>A store whose nodes expire after <paramref name="nodeTtl"/>, empty for this test, with times from <see cref="Clock"/>.</summary>
    protected abstract IPresenceStore CreateStore(TimeSpan nodeTtl);

    /// <summary>Lets more than the node TTL pass, then requires <paramref name="condition"/> (waiting for it where time is real).</summary>
    protected abstract Task PassNodeTtlAsync(Func<Task<bool>> condition, string what);

    protected static IOptions<PresenceOptions> Ttl(TimeSpan nodeTtl) => Options.Create(new PresenceOptions { NodeTtl = nodeTtl });

    protected string User(string name) => $"{name}.{_run}";

    protected string Node(string name) => $"{name}-{_run}";

    private long Now => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    [Fact]
    public async Task A_connected_device_is_online_on_its_node_and_an_unknown_user_is_offline()
    {
        var store = CreateStore(LongTtl);
        var (alice, nobody, node) = (User("alice"), User("nobody"), Node("gw1"));
        await store.HeartbeatAsync(node);
        var since = Now;
        await store.ConnectAsync(alice, "phone", node);

        Assert.Equal([new DevicePresence(alice, "phone", node, since)], await store.GetDevicesAsync(alice));
        Clock.Advance(TimeSpan.FromSeconds(3));
        var presence = await store.GetPresenceAsync([alice, nobody]);
        Assert.Equal(alice, presence[0].User);
        Assert.True(presence[0].Online);
        Assert.Equal(["phone"], presence[0].Devices);
        Assert.Equal(Now, presence[0].LastSeen);
        Assert.Equal(nobody, presence[1].User);
        Assert.False(presence[1].Online);
        Assert.Empty(presence[1].Devices);
        Assert.Null(presence[1].LastSeen);
        Assert.Empty(await store.GetDevicesAsync(nobody));
    }

    [Fact]
    public async Task A_disconnected_device_is_offline_and_last_seen_at_its_disconnect()
    {
        var store = CreateStore(LongTtl);
        var (alice, node) = (User("alice"), Node("gw1"));
        await store.HeartbeatAsync(node);
        await store.ConnectAsync(alice, "phone", node);
        Clock.Advance(TimeSpan.FromSeconds(5));
        var gone = Now;
        await store.DisconnectAsync(alice, "phone", node);
        Clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Empty(await store.GetDevicesAsync(alice));
        var presence = Assert.Single(await store.GetPresenceAsync([alice]));
        Assert.False(presence.Online);
        Assert.Empty(presence.Devices);
        Assert.Equal(gone, presence.LastSeen);
    }

    [Fact]
    public async Task A_device_that_connects_to_another_node_moves_there_and_a_late_disconnect_from_the_old_node_is_ignored()
    {
        var store = CreateStore(LongTtl);
        var (alice, first, second) = (User("alice"), Node("gw1"), Node("gw2"));
        await store.HeartbeatAsync(first);
        await store.HeartbeatAsync(second);
        await store.ConnectAsync(alice, "phone", first);
        Clock.Advance(TimeSpan.FromSeconds(2));
        var moved = Now;
        await store.ConnectAsync(alice, "phone", second);

        await store.DisconnectAsync(alice, "phone", first);

        Assert.Equal([new DevicePresence(alice, "phone", second, moved)], await store.GetDevicesAsync(alice));
        await store.DisconnectAsync(alice, "phone", second);
        Assert.Empty(await store.GetDevicesAsync(alice));
    }

    [Fact]
    public async Task A_node_registering_a_device_again_keeps_its_connected_since_time()
    {
        var store = CreateStore(LongTtl);
        var (alice, node) = (User("alice"), Node("gw1"));
        await store.HeartbeatAsync(node);
        var since = Now;
        await store.ConnectAsync(alice, "phone", node);
        Clock.Advance(TimeSpan.FromSeconds(7));

        await store.ConnectAsync(alice, "phone", node);

        Assert.Equal(since, Assert.Single(await store.GetDevicesAsync(alice)).Since);
    }

    [Fact]
    public async Task A_user_online_on_two_nodes_lists_every_device_in_order()
    {
        var store = CreateStore(LongTtl);
        var (alice, first, second) = (User("alice"), Node("gw1"), Node("gw2"));
        await store.HeartbeatAsync(first);
        await store.HeartbeatAsync(second);
        await store.ConnectAsync(alice, "tablet", second);
        await store.ConnectAsync(alice, "laptop", first);
        await store.ConnectAsync(alice, "phone", second);

        var devices = await store.GetDevicesAsync(alice);
        Assert.Equal(["laptop/" + first, "phone/" + second, "tablet/" + second],
            devices.Select(d => $"{d.Device}/{d.Node}").Order(StringComparer.Ordinal));
        Assert.Equal(["laptop", "phone", "tablet"], Assert.Single(await store.GetPresenceAsync([alice])).Devices);
    }

    [Fact]
    public async Task A_new_node_is_told_it_was_not_held_and_its_next_heartbeat_that_it_was()
    {
        var store = CreateStore(LongTtl);
        var node = Node("gw1");

        Assert.False(await store.HeartbeatAsync(node));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await store.HeartbeatAsync(node));
        Assert.True(await store.HeartbeatAsync(node));
    }

    [Fact]
    public async Task A_node_that_stops_heartbeating_takes_its_devices_offline_last_seen_at_its_last_heartbeat()
    {
        var store = CreateStore(ShortTtl);
        var (alice, node) = (User("alice"), Node("gw1"));
        await store.HeartbeatAsync(node);
        await store.ConnectAsync(alice, "phone", node);
        Clock.Advance(TimeSpan.FromMilliseconds(400));
        var lastBeat = Now;
        Assert.True(await store.HeartbeatAsync(node));
        Assert.Single(await store.GetDevicesAsync(alice));

        await PassNodeTtlAsync(async () => (await store.GetDevicesAsync(alice)).Count == 0, "the silent node's device is offline");

        var presence = Assert.Single(await store.GetPresenceAsync([alice]));
        Assert.False(presence.Online);
        Assert.Empty(presence.Devices);
        Assert.Equal(lastBeat, presence.LastSeen);
    }

    [Fact]
    public async Task A_node_back_after_expiring_is_told_to_register_again_and_its_devices_stay_offline_until_it_does()
    {
        var store = CreateStore(ShortTtl);
        var (alice, node) = (User("alice"), Node("gw1"));
        await store.HeartbeatAsync(node);
        await store.ConnectAsync(alice, "phone", node);
        await store.ConnectAsync(alice, "laptop", node);
        await PassNodeTtlAsync(async () => (await store.GetDevicesAsync(alice)).Count == 0, "the silent node's devices are offline");

        Assert.False(await store.HeartbeatAsync(node));
        Assert.Empty(await store.GetDevicesAsync(alice));
        await store.ConnectAsync(alice, "phone", node);
        Assert.Equal(["phone"], (await store.GetDevicesAsync(alice)).Select(d => d.Device));
        Assert.True(await store.HeartbeatAsync(node));
    }

    [Fact]
    public async Task A_connect_on_an_expired_node_brings_back_only_that_device_and_the_next_heartbeat_asks_for_the_rest()
    {
        var store = CreateStore(ShortTtl);
        var (alice, node) = (User("alice"), Node("gw1"));
        await store.HeartbeatAsync(node);
        await store.ConnectAsync(alice, "phone", node);
        await store.ConnectAsync(alice, "laptop", node);
        await PassNodeTtlAsync(async () => (await store.GetDevicesAsync(alice)).Count == 0, "the silent node's devices are offline");

        await store.ConnectAsync(alice, "phone", node);

        Assert.Equal(["phone"], (await store.GetDevicesAsync(alice)).Select(d => d.Device));
        Assert.False(await store.HeartbeatAsync(node));
        await store.ConnectAsync(alice, "laptop", node);
        Assert.Equal(["laptop", "phone"], (await store.GetDevicesAsync(alice)).Select(d => d.Device).Order(StringComparer.Ordinal));
        Assert.True(await store.HeartbeatAsync(node));
    }

    [Fact]
    public async Task Another_nodes_heartbeat_sweeps_an_expired_node_and_its_users_keep_their_last_seen()
    {
        var store = CreateStore(ShortTtl);
        var (alice, bob, dead, live) = (User("alice"), User("bob"), Node("gw1"), Node("gw2"));
        await store.HeartbeatAsync(dead);
        await store.ConnectAsync(alice, "phone", dead);
        await store.ConnectAsync(bob, "phone", dead);
        var lastBeat = Now;
        await PassNodeTtlAsync(async () => (await store.GetDevicesAsync(alice)).Count == 0, "the silent node's devices are offline");

        Clock.Advance(TimeSpan.FromSeconds(1));
        await store.HeartbeatAsync(live);
        await store.ConnectAsync(bob, "laptop", live);

        var presence = await store.GetPresenceAsync([alice, bob]);
        Assert.False(presence[0].Online);
        Assert.Equal(lastBeat, presence[0].LastSeen);
        Assert.True(presence[1].Online);
        Assert.Equal(["laptop"], presence[1].Devices);
    }
}
