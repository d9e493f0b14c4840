namespace AspireChat.AppHost;

/// <summary>
/// Kafka, Redis and PostgreSQL for a local run where no container can run: one process (the <c>StandIns</c> project)
/// hosts librdkafka's mock cluster and Garnet and starts a PostgreSQL cluster from the machine's installation, on the
/// endpoints declared here, and hands them over as connection strings, so the services use the same Kafka, Redis and
/// store code paths as against the containers. Run mode only: a published manifest has containers or managed services instead.
/// </summary>
internal static class StandInsExtensions
{
    private const string Name = "standins";

    public static BackingService AddKafkaStandIn(this IDistributedApplicationBuilder builder, string name)
    {
        var kafka = builder.StandIns().GetEndpoint("kafka");
        return new BackingService(name, ReferenceExpression.Create($"{kafka.Property(EndpointProperty.HostAndPort)}"), builder.StandIns().AsResource(),
            // The mock cluster holds every fetch for fetch.wait.max.ms even when records arrive: keep that short, or it is
            // the latency floor of each stage (docs/configuration.md, Kafka:FetchWait).
            new Dictionary<string, string> { ["Kafka__FetchWait"] = "00:00:00.005" });
    }

    public static BackingService AddRedisStandIn(this IDistributedApplicationBuilder builder, string name)
    {
        var redis = builder.StandIns().GetEndpoint("redis");
        return new BackingService(name, ReferenceExpression.Create($"{redis.Property(EndpointProperty.HostAndPort)}"), builder.StandIns().AsResource());
    }

    /// <summary>
    /// The chat store: a PostgreSQL cluster with its data in <c>AspireChat:PostgresData</c> (default <c>data/postgres</c>
    /// beside the AppHost), kept between runs.
    /// </summary>
    public static BackingService AddPostgresStandIn(this IDistributedApplicationBuilder builder, string name)
    {
        var postgres = builder.StandIns().GetEndpoint("postgres");
        return new BackingService(name, ReferenceExpression.Create(
            $"Host={postgres.Property(EndpointProperty.Host)};Port={postgres.Property(EndpointProperty.Port)};Username=chat;Database=aspirechat"), builder.StandIns().AsResource());
    }

    // One process for the stand-ins. The endpoints are not proxied: every Kafka and Redis round trip of every message
    // would otherwise cross the orchestrator's proxy too. The mock broker advertises the endpoint's address, so the
    // metadata it returns points back at the stand-in's own listener.
    private static IResourceBuilder<ProjectResource> StandIns(this IDistributedApplicationBuilder builder)
    {
        if (builder.Resources.OfType<ProjectResource>().SingleOrDefault(r => r.Name == Name) is { } existing)
            return builder.CreateResourceBuilder(existing);
        var standIns = builder.AddProject<Projects.StandIns>(Name)
            .WithHttpHealthCheck("/health")
            .WithEndpoint(name: "kafka", scheme: "tcp", env: "StandIns__KafkaPort", isProxied: false)
            .WithEndpoint(name: "redis", scheme: "tcp", env: "StandIns__RedisPort", isProxied: false)
            .WithEndpoint(name: "postgres", scheme: "tcp", env: "StandIns__PostgresPort", isProxied: false)
            .WithEnvironment("StandIns__PostgresData", builder.Configuration["AspireChat:PostgresData"] is { Length: > 0 } data
                ? Path.GetFullPath(data, builder.AppHostDirectory)
                : Path.Combine(builder.AppHostDirectory, "data", "postgres"));
        var kafka = standIns.GetEndpoint("kafka");
        return standIns
            .WithEnvironment("StandIns__KafkaAdvertisedHost", kafka.Property(EndpointProperty.Host))
            .WithEnvironment("StandIns__KafkaAdvertisedPort", kafka.Property(EndpointProperty.Port));
    }
}
