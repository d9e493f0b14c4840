using AspireChat.Messaging.Delivery;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace AspireChat.Tests.Delivery;

/// <summary>The routing contract against the in-process router (every "process" shares it); the Redis adapter meets the same one.</summary>
public sealed class InProcessDeliveryRouterContractTests : DeliveryRouterContract
{
    private readonly InProcessDeliveryRouter _router = new();

    protected override IDeliveryRouter Router(int process) => _router;
}

/// <summary>
/// The routing contract against <see cref="RedisDeliveryRouter"/>: each gateway process has its own connection, on a
/// server the subclass provides; channels are named for this test only.
/// </summary>
public abstract class RedisDeliveryRouterContract(Func<string> connectionString) : DeliveryRouterContract, IAsyncLifetime
{
    private readonly string _prefix = $"t{Guid.NewGuid():n}"[..12] + ":route";
    private readonly Dictionary<int, (ConnectionMultiplexer Redis, RedisDeliveryRouter Router)> _processes = [];

    protected override IDeliveryRouter Router(int process) => _processes[process].Router;

    public async Task InitializeAsync()
    {
        for (var process = 1; process <= 3; process++)
        {
            var redis = await LocalRedis.ConnectAsync(connectionString());
            _processes[process] = (redis, new RedisDeliveryRouter(redis, NullLogger<RedisDeliveryRouter>.Instance, _prefix));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var (redis, _) in _processes.Values) await redis.DisposeAsync();
    }
}

public sealed class GarnetDeliveryRouterTests(GarnetFixture garnet)
    : RedisDeliveryRouterContract(() => garnet.Server.ConnectionString), IClassFixture<GarnetFixture>;

public sealed class RedisServerDeliveryRouterTests(RedisServerFixture server)
    : RedisDeliveryRouterContract(() => server.Server.ConnectionString), IClassFixture<RedisServerFixture>;
