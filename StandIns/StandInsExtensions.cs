using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AspireChat.StandIns;

/// <summary><c>StandIns:*</c>: where the stand-ins listen and what address Kafka clients are told.</summary>
public sealed class StandInsOptions
{
    /// <summary>Port the Kafka stand-in listens on (the AppHost's endpoint target port).</summary>
    public int KafkaPort { get; set; }

    /// <summary>Host and port the broker advertises in metadata: what clients reach it by (the AppHost's proxied endpoint).</summary>
    public string KafkaAdvertisedHost { get; set; } = "localhost";

    public int KafkaAdvertisedPort { get; set; }

    /// <summary>Partitions of each of the three topics.</summary>
    public int Partitions { get; set; } = 12;

    /// <summary>Port the Redis stand-in (Garnet) listens on.</summary>
    public int RedisPort { get; set; }

    /// <summary>Port the PostgreSQL stand-in listens on (loopback).</summary>
    public int PostgresPort { get; set; }

    /// <summary>The PostgreSQL stand-in's data folder (the AppHost's <c>data/postgres</c>); kept between runs.</summary>
    public string PostgresData { get; set; } = Path.Combine("data", "postgres");
}

/// <summary>Registers the stand-ins, each started with the host and healthy once it listens.</summary>
public static class StandInsExtensions
{
    public static IHostApplicationBuilder AddStandIns(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StandInsOptions>().Bind(builder.Configuration.GetSection("StandIns"))
            .Validate(o => o.KafkaPort > 0 && o.RedisPort > 0 && o.PostgresPort > 0, "StandIns:KafkaPort, StandIns:RedisPort and StandIns:PostgresPort must be set (the AppHost sets them)")
            .ValidateOnStart();
        builder.Services.AddSingleton<KafkaStandIn>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KafkaStandIn>());
        builder.Services.AddSingleton<RedisStandIn>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisStandIn>());
        builder.Services.AddSingleton<PostgresStandIn>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PostgresStandIn>());
        builder.Services.AddHealthChecks()
            .AddCheck<KafkaStandIn>("kafka-stand-in")
            .AddCheck<RedisStandIn>("redis-stand-in")
            .AddCheck<PostgresStandIn>("postgres-stand-in");
        return builder;
    }
}
