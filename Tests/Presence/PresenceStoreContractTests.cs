using AspireChat.Messaging.Presence;
using AspireChat.Tests.Support;
using StackExchange.Redis;

namespace AspireChat.Tests.Presence;

/// <summary>The presence contract against the in-memory reference adapter (time is the fake clock); the Redis adapter meets the same one.</summary>
public sealed class InMemoryPresenceStoreContractTests : PresenceStoreContract
{
    private TimeSpan _ttl;

    protected override IPresenceStore CreateStore(TimeSpan nodeTtl)
    {
        _ttl = nodeTtl;
        return new InMemoryPresenceStore(Clock, Ttl(nodeTtl));
    }

    protected override async Task PassNodeTtlAsync(Func<Task<bool>> condition, string what)
    {
        Clock.Advance(_ttl + TimeSpan.FromMilliseconds(1));
        Assert.True(await condition(), what);
    }
}

/// <summary>The presence contract against <see cref="RedisPresenceStore"/>, on a server the subclass provides.</summary>
public abstract class RedisPresenceStoreContract(IConnectionMultiplexer redis) : PresenceStoreContract
{
    private readonly string _prefix = $"t{Guid.NewGuid():n}"[..12] + ":presence";

    protected override IPresenceStore CreateStore(TimeSpan nodeTtl) => new RedisPresenceStore(redis, Clock, Ttl(nodeTtl), _prefix);

    // Node keys expire on Redis' own clock: wait for it.
    protected override Task PassNodeTtlAsync(Func<Task<bool>> condition, string what) =>
        Wait.UntilAsync(condition, what, ShortTtl + TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_sweep_removes_an_expired_nodes_devices_from_redis()
    {
        var store = CreateStore(ShortTtl);
        var (alice, dead, live) = (User("alice"), Node("gw1"), Node("gw2"));
        await store.HeartbeatAsync(dead);
        await store.ConnectAsync(alice, "phone", dead);
        var devices = (RedisKey)$"{_prefix}:u:{{{alice}}}";
        Assert.True(await redis.GetDatabase().KeyExistsAsync(devices));

        await Wait.UntilAsync(async () =>
        {
            await store.HeartbeatAsync(live);
            return !await redis.GetDatabase().KeyExistsAsync(devices);
        }, "a live node's heartbeat swept the expired node's device", ShortTtl + TimeSpan.FromSeconds(10));

        Assert.Equal(1, await redis.GetDatabase().SortedSetLengthAsync($"{_prefix}:lives"));
    }
}

public sealed class GarnetPresenceStoreTests(GarnetFixture garnet) : RedisPresenceStoreContract(garnet.Redis), IClassFixture<GarnetFixture>;

public sealed class RedisServerPresenceStoreTests(RedisServerFixture server) : RedisPresenceStoreContract(server.Redis), IClassFixture<RedisServerFixture>;
