using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Presence;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Tests.Delivery;

/// <summary>
/// The Redis adapters through an outage: <c>redis-server</c> killed mid-test and started again on the same port (empty, as
/// after a crash without persistence). Calls meanwhile fail at once with <see cref="RedisConnectionException"/> (the callers
/// answer <c>unavailable</c>), none hangs past a bound, and the adapters work again once the client has reconnected.
/// </summary>
public sealed class RedisOutageTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    // Far beyond what failing fast takes; a call still pending then counts as hanging.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly string _run = Guid.NewGuid().ToString("n")[..8];

    private IConnectionMultiplexer Redis => fixture.Redis;

    public async Task InitializeAsync()
    {
        if (!fixture.Server.IsRunning) await fixture.Server.StartAgainAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<Exception> FailsDuringTheOutageAsync(Func<Task> call)
    {
        var e = await Record.ExceptionAsync(() => call().WaitAsync(Bound));
        Assert.NotNull(e);
        Assert.IsType<RedisConnectionException>(e);
        return e;
    }

    private static Task UntilItWorksAgainAsync(Func<Task> call, string what) => Wait.UntilAsync(async () =>
    {
        try
        {
            await call().WaitAsync(Bound);
            return true;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            // Still reconnecting.
            return false;
        }
    }, what, TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Presence_fails_fast_while_redis_is_down_and_a_node_registers_again_after_it_returns()
    {
        var store = new RedisPresenceStore(Redis, TimeProvider.System, Options.Create(new PresenceOptions()), $"{_run}:presence");
        var (alice, node) = ($"alice.{_run}", $"gw-{_run}");
        await store.HeartbeatAsync(node);
        await store.ConnectAsync(alice, "phone", node);

        await fixture.Server.KillAsync();

        await FailsDuringTheOutageAsync(async () => await store.GetDevicesAsync(alice));
        await FailsDuringTheOutageAsync(async () => await store.HeartbeatAsync(node));
        await FailsDuringTheOutageAsync(async () => await store.ConnectAsync(alice, "laptop", node));

        await fixture.Server.StartAgainAsync();
        bool held = true;
        await UntilItWorksAgainAsync(async () => held = await store.HeartbeatAsync(node), "a heartbeat reaches Redis again");
        // Redis came back empty: the node is told so, and registers its devices again.
        Assert.False(held);
        Assert.Empty(await store.GetDevicesAsync(alice));
        await store.ConnectAsync(alice, "phone", node);
        Assert.Equal(["phone"], (await store.GetDevicesAsync(alice)).Select(d => d.Device));
    }

    [Fact]
    public async Task Pending_acks_fail_fast_while_redis_is_down_and_work_again_after_it_returns()
    {
        var pending = new RedisPendingAcks(Redis, Options.Create(new RedisPendingAcksOptions { KeyPrefix = $"{_run}:pending" }));
        var alice = $"alice.{_run}";
        await pending.ResetAsync(alice, "phone", 0);
        Assert.True(await pending.TryClaimAsync(alice, "phone", 1, 100, 1_000));

        await fixture.Server.KillAsync();

        await FailsDuringTheOutageAsync(async () => await pending.TryClaimAsync(alice, "phone", 2, 100, 1_000));
        await FailsDuringTheOutageAsync(async () => await pending.AckAsync(alice, "phone", 1));
        await FailsDuringTheOutageAsync(async () => await pending.TakeExpiredAsync(1_000, 5, a => 2_000, 100));
        // The metric keeps its last value rather than failing.
        _ = pending.Count;

        await fixture.Server.StartAgainAsync();
        await UntilItWorksAgainAsync(async () => await pending.ResetAsync(alice, "phone", 1), "a hello's reset reaches Redis again");
        Assert.True(await pending.TryClaimAsync(alice, "phone", 2, 100, 1_000));
        Assert.Equal([2L], (await pending.TakeExpiredAsync(1_000, 5, a => 2_000, 100)).Select(d => d.Seq));
    }

    [Fact]
    public async Task Routing_fails_fast_while_redis_is_down_and_a_node_gets_its_traffic_again_after_it_returns()
    {
        await using var gateway = await LocalRedis.ConnectAsync(fixture.Server.ConnectionString);
        var router = new RedisDeliveryRouter(Redis, NullLogger<RedisDeliveryRouter>.Instance, $"{_run}:route");
        var sink = new DeliveryRouterContract.RecordingSink($"gw-{_run}");
        using var registration = new RedisDeliveryRouter(gateway, NullLogger<RedisDeliveryRouter>.Instance, $"{_run}:route").Register(sink);
        Assert.True(await router.RouteAsync(sink.Node, "alice", "phone", [Entry(1)]));

        await fixture.Server.KillAsync();

        await FailsDuringTheOutageAsync(async () => await router.RouteAsync(sink.Node, "alice", "phone", [Entry(2)]));

        await fixture.Server.StartAgainAsync();
        // The gateway's client subscribes again by itself once it has reconnected.
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return await router.RouteAsync(sink.Node, "alice", "phone", [Entry(3)]).AsTask().WaitAsync(Bound);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                return false;
            }
        }, "the node's channel has its subscriber again", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => sink.Deliveries.Any(d => d.Entries.Single().Seq == 3), "the node got an entry routed after the outage");
        Assert.DoesNotContain(sink.Deliveries, d => d.Entries.Single().Seq == 2);
    }

    [Fact]
    public async Task A_lease_that_cannot_be_renewed_past_its_term_stops_its_generator_until_redis_returns()
    {
        await using var lease = new RedisWorkerIdLease(Redis, Options.Create(new SnowflakeOptions()), Options.Create(new WorkerIdLeaseOptions
        {
            Ttl = TimeSpan.FromSeconds(1),
            RenewInterval = TimeSpan.FromMilliseconds(200),
            SafetyMargin = TimeSpan.FromMilliseconds(200),
            KeyPrefix = $"{_run}:worker-id:",
        }), TimeProvider.System, NullLogger<RedisWorkerIdLease>.Instance);
        await lease.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => lease.WorkerId is not null, "the lease is held");
        var workerId = lease.WorkerId;

        await fixture.Server.KillAsync();

        await Wait.UntilAsync(() => lease.WorkerId is null, "the lease's term ended without a renewal");
        await Assert.ThrowsAsync<IdGenerationException>(async () => await lease.Generator.NextIdsAsync(new long[1]));

        await fixture.Server.StartAgainAsync();
        await Wait.UntilAsync(() => lease.WorkerId is not null, "the lease is held again", TimeSpan.FromSeconds(30));
        // Redis came back empty, so the id held before was free again.
        Assert.Equal(workerId, lease.WorkerId);
        await lease.Generator.NextIdsAsync(new long[10]);
    }

    private static InboxEntry Entry(long seq) =>
        new("alice", seq, new ChatMessage(seq, "s:alice:bob", seq, 0, "bob", "alice", 1, System.Text.Json.JsonDocument.Parse("{}").RootElement, null, 0));
}
