using AspireChat.Messaging.Ids;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Tests.Ids;

/// <summary>
/// Leased Snowflake worker ids (docs/configuration.md) against a Redis protocol server the subclass provides. Lease TTLs are real and
/// short (Redis expires keys on its own clock); the tests wait for conditions with a deadline.
/// </summary>
public abstract class WorkerIdLeaseContract(IConnectionMultiplexer redis) : IAsyncLifetime
{
    // Long enough that a renewal delayed by a loaded machine (CI runs the whole suite on 2 cores) still lands in time.
    protected static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private readonly string _prefix = $"t{Guid.NewGuid():n}"[..12] + ":worker-id:";
    private readonly List<RedisWorkerIdLease> _leases = [];

    protected IConnectionMultiplexer Redis => redis;

    protected RedisWorkerIdLease Lease(IConnectionMultiplexer? connection = null)
    {
        var lease = new RedisWorkerIdLease(connection ?? redis, Options.Create(new SnowflakeOptions()), Options.Create(new WorkerIdLeaseOptions
        {
            Ttl = Ttl,
            RenewInterval = TimeSpan.FromMilliseconds(200),
            SafetyMargin = TimeSpan.FromMilliseconds(200),
            KeyPrefix = _prefix,
        }), TimeProvider.System, NullLogger<RedisWorkerIdLease>.Instance);
        _leases.Add(lease);
        return lease;
    }

    protected static async Task<RedisWorkerIdLease> StartedAsync(RedisWorkerIdLease lease)
    {
        await lease.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => lease.WorkerId is not null, "the lease is held and its generator issues ids");
        return lease;
    }

    protected static async Task<bool> IssuesAsync(RedisWorkerIdLease lease)
    {
        try
        {
            await lease.Generator.NextIdsAsync(new long[1]);
            return true;
        }
        catch (IdGenerationException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_generator_issues_no_id_before_it_holds_a_lease()
    {
        var lease = Lease();

        await Assert.ThrowsAsync<IdGenerationException>(async () => await lease.Generator.NextIdsAsync(new long[1]));
        await StartedAsync(lease);
        Assert.True(await IssuesAsync(lease));
    }

    [Fact]
    public async Task Generators_against_one_redis_never_hold_the_same_worker_id()
    {
        var leases = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => StartedAsync(Lease())));

        var workerIds = leases.Select(l => l.WorkerId!.Value).ToList();
        Assert.Equal(4, workerIds.Distinct().Count());
        var ids = new List<long>();
        foreach (var lease in leases)
        {
            var batch = new long[5_000];
            await lease.Generator.NextIdsAsync(batch);
            Assert.All(batch, id => Assert.Equal(lease.WorkerId, SnowflakeId.Decompose(id).WorkerId));
            ids.AddRange(batch);
        }
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var lease in leases) Assert.Equal(lease.Owner, (string?)await redis.GetDatabase().StringGetAsync(lease.KeyOf(lease.WorkerId!.Value)));
    }

    [Fact]
    public async Task Renewals_keep_the_worker_id_through_several_ttls()
    {
        var lease = await StartedAsync(Lease());
        var workerId = lease.WorkerId;

        var held = System.Diagnostics.Stopwatch.StartNew();
        while (held.Elapsed < 3 * Ttl)
        {
            Assert.True(await IssuesAsync(lease), "ids are issued throughout");
            Assert.Equal(workerId, lease.WorkerId);
            await Task.Delay(50);
        }
        Assert.InRange((await redis.GetDatabase().KeyTimeToLiveAsync(lease.KeyOf(workerId!.Value)))!.Value, TimeSpan.FromMilliseconds(1), Ttl);
    }

    [Fact]
    public async Task A_lease_taken_over_in_redis_stops_its_generator_which_then_moves_to_a_free_worker_id()
    {
        var lease = await StartedAsync(Lease());
        var lost = lease.WorkerId!.Value;

        await redis.GetDatabase().StringSetAsync(lease.KeyOf(lost), "someone else", TimeSpan.FromMinutes(1));

        await Wait.UntilAsync(async () => !await IssuesAsync(lease), "the generator refuses once its renewal fails");
        await Wait.UntilAsync(() => lease.WorkerId is not null, "the lease moved to another worker id");
        Assert.NotEqual(lost, lease.WorkerId);
        Assert.True(await IssuesAsync(lease));
    }

    [Fact]
    public async Task A_worker_id_released_at_stop_is_taken_by_the_next_instance()
    {
        var first = await StartedAsync(Lease());
        var second = await StartedAsync(Lease());
        var freed = first.WorkerId!.Value;

        await first.StopAsync(CancellationToken.None);

        Assert.False(await IssuesAsync(first));
        Assert.False(await redis.GetDatabase().KeyExistsAsync(first.KeyOf(freed)));
        var third = await StartedAsync(Lease());
        Assert.Equal(freed, third.WorkerId);
        Assert.NotEqual(second.WorkerId, third.WorkerId);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var lease in _leases) await lease.DisposeAsync();
    }
}

public sealed class GarnetWorkerIdLeaseTests(GarnetFixture garnet) : WorkerIdLeaseContract(garnet.Redis), IClassFixture<GarnetFixture>;

public sealed class RedisServerWorkerIdLeaseTests(RedisServerFixture server) : WorkerIdLeaseContract(server.Redis), IClassFixture<RedisServerFixture>;
