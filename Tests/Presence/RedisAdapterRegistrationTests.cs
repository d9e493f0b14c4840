using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Presence;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace AspireChat.Tests.Presence;

/// <summary><see cref="RedisExtensions.AddRedisAdapters"/>: configuration picks the Redis adapters (docs/configuration.md), here on Garnet.</summary>
public sealed class RedisAdapterRegistrationTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    private HostApplicationBuilder Builder(bool withRedis = true, bool withIdService = false)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?>
        {
            ["Snowflake:Lease:Ttl"] = "00:00:01",
            ["Snowflake:Lease:RenewInterval"] = "00:00:00.2",
            ["Snowflake:Lease:SafetyMargin"] = "00:00:00.2",
            ["Snowflake:Lease:KeyPrefix"] = $"t{Guid.NewGuid():n}:worker-id:",
        };
        if (withRedis) settings["ConnectionStrings:redis"] = garnet.Server.ConnectionString;
        if (withIdService) settings["services:idservice:http:0"] = "http://127.0.0.1:1";
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Fact]
    public async Task A_redis_connection_string_puts_the_redis_adapters_in_place_of_the_in_memory_ones_with_a_health_check()
    {
        var builder = Builder();
        builder.AddChatAdapters();
        builder.AddRedisAdapters();
        using var host = builder.Build();

        Assert.IsType<RedisPresenceStore>(host.Services.GetRequiredService<IPresenceStore>());
        Assert.IsType<RedisPendingAcks>(host.Services.GetRequiredService<IPendingAcks>());
        Assert.IsType<RedisDeliveryRouter>(host.Services.GetRequiredService<IDeliveryRouter>());
        var lease = host.Services.GetRequiredService<RedisWorkerIdLease>();
        Assert.Same(lease.Generator, host.Services.GetRequiredService<IIdGenerator>());
        Assert.Contains(host.Services.GetServices<IHostedService>(), s => ReferenceEquals(s, lease));
        Assert.NotNull(host.Services.GetRequiredService<IConnectionMultiplexer>());

        await host.StartAsync();
        try
        {
            var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Contains(health.Entries, e => e.Key.Contains("Redis", StringComparison.OrdinalIgnoreCase) && e.Value.Status == HealthStatus.Healthy);
            await Wait.UntilAsync(() => lease.WorkerId is not null, "the started host leased a worker id");
            await host.Services.GetRequiredService<IIdGenerator>().NextIdsAsync(new long[5]);
            Assert.False(await host.Services.GetRequiredService<IPresenceStore>().HeartbeatAsync($"gw-{Guid.NewGuid():n}"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void Registered_before_the_chat_adapters_the_redis_adapters_still_win()
    {
        var builder = Builder();
        builder.AddRedisAdapters();
        builder.AddChatAdapters();
        using var host = builder.Build();

        Assert.IsType<RedisPresenceStore>(host.Services.GetRequiredService<IPresenceStore>());
        Assert.IsType<RedisPendingAcks>(host.Services.GetRequiredService<IPendingAcks>());
        Assert.IsType<RedisDeliveryRouter>(host.Services.GetRequiredService<IDeliveryRouter>());
        Assert.Same(host.Services.GetRequiredService<RedisWorkerIdLease>().Generator, host.Services.GetRequiredService<IIdGenerator>());
    }

    [Fact]
    public void Without_a_redis_connection_string_the_in_memory_adapters_stay()
    {
        var builder = Builder(withRedis: false);
        builder.AddChatAdapters();
        builder.AddRedisAdapters();
        using var host = builder.Build();

        Assert.IsType<InMemoryPresenceStore>(host.Services.GetRequiredService<IPresenceStore>());
        Assert.IsType<InMemoryPendingAcks>(host.Services.GetRequiredService<IPendingAcks>());
        Assert.IsType<InProcessDeliveryRouter>(host.Services.GetRequiredService<IDeliveryRouter>());
        Assert.IsType<SnowflakeIdGenerator>(host.Services.GetRequiredService<IIdGenerator>());
        Assert.Null(host.Services.GetService<RedisWorkerIdLease>());
        Assert.Null(host.Services.GetService<IConnectionMultiplexer>());
    }

    [Fact]
    public void With_a_remote_id_service_ids_stay_remote_and_no_worker_id_is_leased()
    {
        var builder = Builder(withIdService: true);
        builder.AddChatAdapters();
        builder.AddRedisAdapters();
        using var host = builder.Build();

        Assert.IsType<HttpIdGenerator>(host.Services.GetRequiredService<IIdGenerator>());
        Assert.Null(host.Services.GetService<RedisWorkerIdLease>());
        Assert.IsType<RedisPresenceStore>(host.Services.GetRequiredService<IPresenceStore>());
    }
}
