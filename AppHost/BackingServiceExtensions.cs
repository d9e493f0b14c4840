using Microsoft.Extensions.Configuration;

namespace AspireChat.AppHost;

/// <summary>
/// A backing service as a service sees it: the connection string it gets as <c>ConnectionStrings:{Name}</c>, and the
/// container it comes from when there is one (a managed service the user supplies has none).
/// </summary>
internal sealed record BackingService(string Name, ReferenceExpression ConnectionString, IResourceBuilder<ContainerResource>? Container);

/// <summary>
/// MongoDB, Redis and Kafka. A published manifest has each as a container (images and settings as Aspire's own
/// integrations use them) or, when the user supplies a managed service, as a connection-string parameter azd asks
/// for: <c>AspireChat:Managed=true</c> selects that for all three, a <c>ConnectionStrings:{name}</c> given to the
/// AppHost for that one. A local run adds only MongoDB, and only where containers can run: the gateway keeps its
/// embedded pipeline there.
/// </summary>
internal static class BackingServiceExtensions
{
    private const string MongoDatabase = "aspirechat";
    private const string MongoUser = "admin";

    /// <summary>The chat store (<c>ConnectionStrings:mongo</c>); null in a local run without a container runtime.</summary>
    public static BackingService? AddChatMongo(this IDistributedApplicationBuilder builder, string name = "mongo")
    {
        if (builder.ExecutionContext.IsPublishMode)
            return builder.IsManaged(name) ? builder.AddManagedService(name) : builder.AddMongoContainer(name);

        if (!ContainerRuntime.IsAvailable(builder.Configuration)) return null;
        var local = builder.AddContainer(name, "mongo", "8.0")
            .WithVolume("aspirechat-mongo-data", "/data/db")
            .WithEndpoint(targetPort: 27017, name: "tcp", scheme: "tcp");
        var endpoint = local.GetEndpoint("tcp");
        return new BackingService(name, ReferenceExpression.Create($"mongodb://{endpoint.Property(EndpointProperty.HostAndPort)}/{MongoDatabase}"), local);
    }

    /// <summary>Presence, routing, pending acks and id leases (<c>ConnectionStrings:redis</c>); published manifests only for now.</summary>
    public static BackingService? AddChatRedis(this IDistributedApplicationBuilder builder, string name = "redis")
    {
        if (!builder.ExecutionContext.IsPublishMode) return null;
        if (builder.IsManaged(name)) return builder.AddManagedService(name);
        var redis = builder.AddRedis(name);
        return new BackingService(name, ReferenceExpression.Create($"{redis.Resource}"), redis.AsContainer());
    }

    /// <summary>The message log (<c>ConnectionStrings:kafka</c>, bootstrap servers); published manifests only for now.</summary>
    public static BackingService? AddChatKafka(this IDistributedApplicationBuilder builder, string name = "kafka")
    {
        if (!builder.ExecutionContext.IsPublishMode) return null;
        return builder.IsManaged(name) ? builder.AddManagedService(name) : builder.AddKafkaContainer(name);
    }

    /// <summary>Gives the service <c>ConnectionStrings:{name}</c> of <paramref name="backing"/> (nothing when it is null).</summary>
    public static IResourceBuilder<ProjectResource> WithBackingService(this IResourceBuilder<ProjectResource> service, BackingService? backing)
    {
        if (backing is null) return service;
        service.WithEnvironment($"ConnectionStrings__{backing.Name}", backing.ConnectionString);
        return backing.Container is { } container ? service.WaitFor(container) : service;
    }

    /// <summary>
    /// References that only a published manifest gets: deployed, the services reach the backing services themselves,
    /// while a local run keeps the whole pipeline inside the gateway and gives the other services nothing.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithDeployedBackingServices(this IResourceBuilder<ProjectResource> service, params BackingService?[] backing)
    {
        if (!service.ApplicationBuilder.ExecutionContext.IsPublishMode) return service;
        foreach (var one in backing) service.WithBackingService(one);
        return service;
    }

    private static bool IsManaged(this IDistributedApplicationBuilder builder, string name) =>
        builder.Configuration.GetValue<bool>("AspireChat:Managed") || !string.IsNullOrEmpty(builder.Configuration.GetConnectionString(name));

    // A secret parameter azd asks for (or reads from the azd environment) — e.g. a MongoDB Atlas URI.
    private static BackingService AddManagedService(this IDistributedApplicationBuilder builder, string name)
    {
        var connection = builder.AddConnectionString(name);
        return new BackingService(name, ReferenceExpression.Create($"{connection.Resource}"), null);
    }

    // docker.io/library/mongo:8.3 with a root user whose password azd generates (a secret parameter) and a data volume.
    private static BackingService AddMongoContainer(this IDistributedApplicationBuilder builder, string name)
    {
        var password = builder.AddParameter($"{name}-password", new GenerateParameterDefault { MinLength = 22, Special = false }, secret: true, persist: true);
        var mongo = builder.AddContainer(name, "library/mongo", "8.3")
            .WithImageRegistry("docker.io")
            .WithEnvironment("MONGO_INITDB_ROOT_USERNAME", MongoUser)
            .WithEnvironment("MONGO_INITDB_ROOT_PASSWORD", password)
            .WithVolume("aspirechat-mongo-data", "/data/db")
            .WithEndpoint(targetPort: 27017, name: "tcp", scheme: "tcp");
        var endpoint = mongo.GetEndpoint("tcp");
        return new BackingService(name, ReferenceExpression.Create(
            $"mongodb://{MongoUser}:{password}@{endpoint.Property(EndpointProperty.HostAndPort)}/{MongoDatabase}?authSource=admin"), mongo);
    }

    // docker.io/confluentinc/confluent-local:8.2.0: one broker in KRaft mode (no ZooKeeper), listeners as Aspire's Kafka
    // integration sets them — 9092 for clients, 9093 for other containers — and the log on a data volume.
    private static BackingService AddKafkaContainer(this IDistributedApplicationBuilder builder, string name)
    {
        var kafka = builder.AddContainer(name, "confluentinc/confluent-local", "8.2.0")
            .WithImageRegistry("docker.io")
            .WithEndpoint(targetPort: 9092, name: "tcp", scheme: "tcp")
            .WithEndpoint(targetPort: 9093, name: "internal", scheme: "tcp")
            .WithVolume("aspirechat-kafka-data", "/var/lib/kafka/data");
        var client = kafka.GetEndpoint("tcp");
        var internalEndpoint = kafka.GetEndpoint("internal");
        kafka.WithEnvironment("KAFKA_LISTENERS", "PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093")
            .WithEnvironment("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,PLAINTEXT_INTERNAL:PLAINTEXT")
            .WithEnvironment("KAFKA_ADVERTISED_LISTENERS", ReferenceExpression.Create(
                $"PLAINTEXT://{client.Property(EndpointProperty.Host)}:29092,PLAINTEXT_HOST://{client.Property(EndpointProperty.HostAndPort)},PLAINTEXT_INTERNAL://{internalEndpoint.Property(EndpointProperty.HostAndPort)}"))
            .WithEnvironment("KAFKA_LOG_DIRS", "/var/lib/kafka/data");
        return new BackingService(name, ReferenceExpression.Create($"{client.Property(EndpointProperty.HostAndPort)}"), kafka);
    }

    private static IResourceBuilder<ContainerResource> AsContainer<T>(this IResourceBuilder<T> resource) where T : ContainerResource =>
        resource.ApplicationBuilder.CreateResourceBuilder<ContainerResource>(resource.Resource);
}
