using AspireChat.Messaging.Delivery;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Tests.Delivery;

/// <summary>The pending-ack contract against the in-memory reference adapter; the Redis adapter meets the same one.</summary>
public sealed class InMemoryPendingAcksContractTests : PendingAcksContract
{
    protected override IPendingAcks Create() => new InMemoryPendingAcks();
}

/// <summary>The pending-ack contract against <see cref="RedisPendingAcks"/>, plus its sharding, on a server the subclass provides.</summary>
public abstract class RedisPendingAcksContract(IConnectionMultiplexer redis) : PendingAcksContract
{
    private readonly string _prefix = $"t{Guid.NewGuid():n}"[..12] + ":pending";

    protected override IPendingAcks Create() => Create([]);

    private RedisPendingAcks Create(int[] owned) => new(redis, Options.Create(new RedisPendingAcksOptions
    {
        KeyPrefix = _prefix,
        Shards = 8,
        OwnedShards = owned,
        CountRefreshInterval = TimeSpan.FromMilliseconds(20),
    }));

    [Fact]
    public async Task Each_retry_worker_takes_the_due_entries_of_the_shards_it_owns_and_no_others()
    {
        var low = Create([0, 1, 2, 3]);
        var high = Create([4, 5, 6, 7]);
        // Users of this run's names until every shard has some (names are random per run, so a fixed count could miss one).
        var users = new List<string>();
        for (var i = 0; users.Count < 40 || users.Select(low.ShardOf).Distinct().Count() < 8; i++) users.Add(User($"u{i}"));
        Assert.Equal(8, users.Select(low.ShardOf).Distinct().Count());
        foreach (var user in users)
        {
            await low.ResetAsync(user, "phone", 0);
            Assert.Equal((1L, 2L), await high.ClaimRangeAsync(user, "phone", 2, 100, 1_000));
        }

        var fromLow = await low.TakeExpiredAsync(1_000, 5, a => 2_000, 1_000);
        var fromHigh = await high.TakeExpiredAsync(1_000, 5, a => 2_000, 1_000);

        Assert.All(fromLow, d => Assert.InRange(low.ShardOf(d.User), 0, 3));
        Assert.All(fromHigh, d => Assert.InRange(high.ShardOf(d.User), 4, 7));
        Assert.Equal(users.SelectMany(u => new[] { (u, 1L), (u, 2L) }).Order(),
            fromLow.Concat(fromHigh).Select(d => (d.User, d.Seq)).Order());
        // Every instance counts all shards.
        Assert.Equal(2 * users.Count, await low.RefreshCountAsync());
        Assert.Equal(2 * users.Count, await high.RefreshCountAsync());
    }

    [Fact]
    public async Task An_ack_of_a_full_window_clears_it_in_one_step()
    {
        var pending = Create([]);
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);
        Assert.Equal((1L, 1000L), await pending.ClaimRangeAsync(alice, "phone", 5_000, 1000, 1_000));

        await pending.AckAsync(alice, "phone", 999);

        Assert.Equal(1, await pending.RefreshCountAsync());
        Assert.Equal([1000L], (await pending.TakeExpiredAsync(1_000, 5, a => 2_000, 10_000)).Select(d => d.Seq));
        var shard = $"{_prefix}:{{s{pending.ShardOf(alice)}}}:";
        Assert.Equal(1, await redis.GetDatabase().SortedSetLengthAsync(shard + "due"));
        Assert.Equal(1, await redis.GetDatabase().SortedSetLengthAsync($"{shard}seqs:{alice}\u001fphone"));
    }
}

public sealed class GarnetPendingAcksTests(GarnetFixture garnet) : RedisPendingAcksContract(garnet.Redis), IClassFixture<GarnetFixture>;

public sealed class RedisServerPendingAcksTests(RedisServerFixture server) : RedisPendingAcksContract(server.Redis), IClassFixture<RedisServerFixture>;
