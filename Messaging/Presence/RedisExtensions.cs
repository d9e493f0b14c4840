using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Ids;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Messaging.Presence;

/// <summary>Registers the Redis adapters of presence, routing, pending acks and worker-id leases (docs/data-model.md, docs/configuration.md).</summary>
public static class RedisExtensions
{
    /// <summary>
    /// When <c>ConnectionStrings:{connectionName}</c> is set: the Redis client through Aspire's <c>AddRedisClient</c>
    /// (health check, tracing, logging), and <see cref="RedisPresenceStore"/>, <see cref="RedisPendingAcks"/> and
    /// <see cref="RedisDeliveryRouter"/> in place of the in-memory adapters — before or after <c>AddChatAdapters</c>.
    /// Unless a remote IdService is configured (<c>services:idservice</c>), ids come from a Snowflake generator whose worker
    /// id is leased in Redis (<see cref="RedisWorkerIdLease"/>, a hosted service). Without the connection string nothing changes.
    /// Redis calls fail fast while Redis is unreachable (<see cref="RedisConnectionException"/>; callers answer
    /// <c>unavailable</c>) and the client reconnects by itself.
    /// </summary>
    /// <param name="leaseWorkerId">False in a process that issues no ids (the DeliveryWorker, the PushService): no lease is taken.</param>
    public static IHostApplicationBuilder AddRedisAdapters(this IHostApplicationBuilder builder, string connectionName = "redis", bool leaseWorkerId = true)
    {
        var configuration = builder.Configuration;
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(connectionName))) return builder;
        // Once per host: AddChatAdapters calls this too.
        if (builder.Services.Any(d => d.ServiceType == typeof(RedisAdaptersRegistered))) return builder;
        builder.Services.AddSingleton<RedisAdaptersRegistered>();

        builder.AddRedisClient(connectionName, configureOptions: options =>
        {
            // Start and keep running without Redis; commands while it is away fail at once instead of queueing.
            options.AbortOnConnectFail = false;
            options.BacklogPolicy = BacklogPolicy.FailFast;
        });

        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddAdapterOptions(configuration);
        services.Configure<RedisPendingAcksOptions>(configuration.GetSection("Delivery:Redis"));
        services.Configure<WorkerIdLeaseOptions>(configuration.GetSection("Snowflake:Lease"));

        services.Replace(ServiceDescriptor.Singleton<IPresenceStore>(sp => new RedisPresenceStore(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<PresenceOptions>>())));
        services.Replace(ServiceDescriptor.Singleton<IPendingAcks, RedisPendingAcks>());
        services.Replace(ServiceDescriptor.Singleton<IDeliveryRouter>(sp => new RedisDeliveryRouter(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<ILogger<RedisDeliveryRouter>>())));

        if (leaseWorkerId && !configuration.GetSection("services:idservice").Exists())
        {
            services.TryAddSingleton<RedisWorkerIdLease>();
            services.AddHostedService(sp => sp.GetRequiredService<RedisWorkerIdLease>());
            // Not ready for traffic before it can issue ids (the first lease takes a moment after start).
            services.AddHealthChecks().Add(new HealthCheckRegistration("worker-id-lease",
                sp => new WorkerIdLeaseHealthCheck(sp.GetRequiredService<RedisWorkerIdLease>()), failureStatus: null, tags: null));
            services.Replace(ServiceDescriptor.Singleton<IIdGenerator>(sp => sp.GetRequiredService<RedisWorkerIdLease>().Generator));
        }
        return builder;
    }

    private sealed class RedisAdaptersRegistered;

    private sealed class WorkerIdLeaseHealthCheck(RedisWorkerIdLease lease) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lease.WorkerId is { } id
                ? HealthCheckResult.Healthy($"issuing ids as worker {id}")
                : new HealthCheckResult(context.Registration.FailureStatus, "no worker id lease held: ids are refused"));
    }
}
