using AspireChat.Messaging.Presence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Ids;

/// <summary>Registers the IdService's generator.</summary>
public static class IdServiceExtensions
{
    /// <summary>
    /// The Snowflake generator behind <c>GET /ids</c>: with <c>ConnectionStrings:redis</c> its worker id is leased in
    /// Redis (<see cref="RedisWorkerIdLease"/>), so replicas never share one; without it, <c>Snowflake:WorkerId</c>.
    /// </summary>
    public static IHostApplicationBuilder AddIdGenerator(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<SnowflakeOptions>(builder.Configuration.GetSection("Snowflake"));
        services.TryAddSingleton(TimeProvider.System);
        builder.AddRedisAdapters();
        services.TryAddSingleton<IIdGenerator>(sp => new SnowflakeIdGenerator(sp.GetRequiredService<IOptions<SnowflakeOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
