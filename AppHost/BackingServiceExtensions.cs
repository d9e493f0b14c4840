using Microsoft.Extensions.Configuration;

namespace AspireChat.AppHost;

/// <summary>
/// A backing service as a service sees it: the connection string it gets as <c>ConnectionStrings:{Name}</c>, and the
/// resource it comes from when there is one to wait for (a container, or the local stand-ins' process; a managed service
/// the user supplies, or a file, has none).
/// </summary>
/// <param name="ClientSettings">Settings a service's client of it needs beside the connection string (environment variables).</param>
/// <param name="ClientSecrets">Secret settings of the client, as parameters (environment variables referencing them).</param>
internal sealed record BackingService(string Name, ReferenceExpression ConnectionString, IResourceBuilder<IResource>? Source,
    IReadOnlyDictionary<string, string>? ClientSettings = null, IReadOnlyDictionary<string, IResourceBuilder<ParameterResource>>? ClientSecrets = null);

/// <summary>
/// The chat store (MongoDB, or PostgreSQL), Redis and Kafka. A published manifest has each as a container (images and
/// settings as Aspire's own integrations use them) or, when the user supplies a managed service, as a connection-string
/// parameter azd asks for: <c>AspireChat:Managed=true</c> selects that for all three, a <c>ConnectionStrings:{name}</c>
/// given to the AppHost for that one. A local run uses the same containers where a container runtime is available, and
/// otherwise local stand-ins (<see cref="StandInsExtensions"/>): the Kafka protocol from librdkafka's mock cluster, the
/// Redis protocol from Garnet, and PostgreSQL from the machine's installation. Stand-ins never reach a published manifest.
/// </summary>
internal static class BackingServiceExtensions
{
    private const string MongoDatabase = "aspirechat";
    private const string MongoUser = "admin";

    /// <summary>
    /// The chat store. A local run without a container runtime: PostgreSQL from the machine's installation, started by the
    /// stand-ins (<c>ConnectionStrings:postgres</c>), or the server a <c>ConnectionStrings:postgres</c> given to the AppHost
    /// names. Otherwise (containers, a published manifest): MongoDB (<c>ConnectionStrings:mongo</c>), the design's store,
    /// unless <c>AspireChat:Store=postgres</c> picks PostgreSQL.
    /// </summary>
    public static BackingService AddChatStore(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsRunMode && !ContainerRuntime.IsAvailable(builder.Configuration))
        {
            return builder.Configuration.GetConnectionString(PostgresName) is { Length: > 0 } given
                ? new BackingService(PostgresName, ReferenceExpression.Create($"{given}"), null)
                : builder.AddPostgresStandIn(PostgresName);
        }
        return string.Equals(builder.Configuration["AspireChat:Store"], "postgres", StringComparison.OrdinalIgnoreCase)
            ? builder.AddChatPostgres(PostgresName)
            : builder.AddChatMongo("mongo");
    }

    private const string PostgresName = "postgres";

    private static BackingService AddChatMongo(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.ExecutionContext.IsPublishMode)
            return builder.IsManaged(name) ? builder.AddManagedService(name) : builder.AddMongoContainer(name);
        var local = builder.AddContainer(name, "mongo", "8.0")
            .WithVolume("aspirechat-mongo-data", "/data/db")
            .WithEndpoint(targetPort: 27017, name: "tcp", scheme: "tcp")
            .AsSingleNodeReplicaSet(withAuth: false);
        var endpoint = local.GetEndpoint("tcp");
        return new BackingService(name, ReferenceExpression.Create(
            $"mongodb://{endpoint.Property(EndpointProperty.HostAndPort)}/{MongoDatabase}?directConnection=true"), local.AsResource());
    }

    // Aspire's PostgreSQL integration (a container with a generated password, a data volume in a local run) and its
    // database aspirechat; in a published manifest a managed server (Azure Database for PostgreSQL) instead when the user
    // supplies one (docs/deploy.md). A connection string given to a local run names a server of the user's own.
    private static BackingService AddChatPostgres(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.ExecutionContext.IsPublishMode && builder.IsManaged(name)) return builder.AddManagedService(name);
        if (builder.ExecutionContext.IsRunMode && builder.Configuration.GetConnectionString(name) is { Length: > 0 } given)
            return new BackingService(name, ReferenceExpression.Create($"{given}"), null);
        var server = builder.AddPostgres($"{name}-server");
        if (builder.ExecutionContext.IsRunMode) server.WithDataVolume("aspirechat-postgres-data");
        var database = server.AddDatabase(name, "aspirechat");
        return new BackingService(name, ReferenceExpression.Create($"{database.Resource}"), database.AsResource());
    }

    /// <summary>Presence, routing, pending acks and id leases (<c>ConnectionStrings:redis</c>).</summary>
    public static BackingService AddChatRedis(this IDistributedApplicationBuilder builder, string name = "redis")
    {
        if (builder.ExecutionContext.IsRunMode && !ContainerRuntime.IsAvailable(builder.Configuration)) return builder.AddRedisStandIn(name);
        if (builder.ExecutionContext.IsPublishMode && builder.IsManaged(name)) return builder.AddManagedService(name);
        var redis = builder.AddRedis(name);
        if (builder.ExecutionContext.IsRunMode) redis.WithDataVolume("aspirechat-redis-data");
        return new BackingService(name, ReferenceExpression.Create($"{redis.Resource}"), redis.AsResource());
    }

    /// <summary>
    /// The message log (<c>ConnectionStrings:kafka</c>, bootstrap servers). A published manifest with
    /// <c>AspireChat:KafkaProfile=EventHubs</c> names Azure Event Hubs, with its SASL settings (<see cref="EventHubsKafkaExtensions"/>).
    /// </summary>
    public static BackingService AddChatKafka(this IDistributedApplicationBuilder builder, string name = "kafka")
    {
        if (builder.ExecutionContext.IsRunMode && !ContainerRuntime.IsAvailable(builder.Configuration)) return builder.AddKafkaStandIn(name);
        if (builder.ExecutionContext.IsPublishMode && builder.WantsEventHubsKafka()) return builder.AddEventHubsKafka(name);
        return builder.ExecutionContext.IsPublishMode && builder.IsManaged(name) ? builder.AddManagedService(name) : builder.AddKafkaContainer(name);
    }

    /// <summary>Gives the service <c>ConnectionStrings:{name}</c> of <paramref name="backing"/> (nothing when it is null).</summary>
    public static IResourceBuilder<ProjectResource> WithBackingService(this IResourceBuilder<ProjectResource> service, BackingService? backing)
    {
        if (backing is null) return service;
        service.WithEnvironment($"ConnectionStrings__{backing.Name}", backing.ConnectionString);
        foreach (var (key, value) in backing.ClientSettings ?? new Dictionary<string, string>()) service.WithEnvironment(key, value);
        foreach (var (key, secret) in backing.ClientSecrets ?? new Dictionary<string, IResourceBuilder<ParameterResource>>()) service.WithEnvironment(key, secret);
        return backing.Source is { } source ? service.WaitFor(source) : service;
    }

    /// <summary>Gives the service the connection string of each of <paramref name="backing"/> (the null ones are skipped).</summary>
    public static IResourceBuilder<ProjectResource> WithBackingServices(this IResourceBuilder<ProjectResource> service, params BackingService?[] backing)
    {
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
            .WithEndpoint(targetPort: 27017, name: "tcp", scheme: "tcp")
            .AsSingleNodeReplicaSet(withAuth: true);
        var endpoint = mongo.GetEndpoint("tcp");
        return new BackingService(name, ReferenceExpression.Create(
            $"mongodb://{MongoUser}:{password}@{endpoint.Property(EndpointProperty.HostAndPort)}/{MongoDatabase}?authSource=admin&directConnection=true"), mongo.AsResource());
    }

    /// <summary>The replica set the MongoDB containers run as: one member, named <c>rs0</c>.</summary>
    internal const string MongoReplicaSet = "rs0";

    // The MongoDB container as a single-node replica set (docs/deploy.md): the image's entrypoint starts mongod with
    // --replSet (it leaves the flag out while it creates the root user on first start), and the script initiates the set
    // once mongod answers, with the member named localhost:27017 (itself, whatever the container's host name becomes
    // after a restart). Clients connect with directConnection=true, as that name is nobody else's address. With a root
    // user, a replica set needs a key file for its members' internal authentication: a random one per start (one member
    // never authenticates to another). The script holds no braces: azd reads {…} in a manifest's strings as expressions.
    private static IResourceBuilder<ContainerResource> AsSingleNodeReplicaSet(this IResourceBuilder<ContainerResource> mongo, bool withAuth)
    {
        var keyFile = withAuth ? " --keyFile /tmp/mongo-keyfile" : "";
        var login = withAuth ? " -u \"$MONGO_INITDB_ROOT_USERNAME\" -p \"$MONGO_INITDB_ROOT_PASSWORD\" --authenticationDatabase admin" : "";
        var lines = new List<string>();
        if (withAuth) lines.Add("head -c 756 /dev/urandom | base64 > /tmp/mongo-keyfile && chmod 400 /tmp/mongo-keyfile && chown mongodb:mongodb /tmp/mongo-keyfile");
        lines.AddRange(
        [
            $"docker-entrypoint.sh mongod --replSet {MongoReplicaSet} --bind_ip_all{keyFile} &",
            "mongod_pid=$!",
            "trap 'kill -TERM $mongod_pid; wait $mongod_pid' TERM INT",
            $"until mongosh --quiet{login} --eval 'rs.status().ok' 2>/dev/null | grep -q 1; do",
            $"  mongosh --quiet{login} --eval 'c = new Object(); c._id = \"{MongoReplicaSet}\"; m = new Object(); m._id = 0; m.host = \"localhost:27017\"; c.members = [m]; rs.initiate(c)' >/dev/null 2>&1",
            "  sleep 1",
            "done",
            "wait $mongod_pid",
        ]);
        var script = string.Join("\n", lines);
        return mongo.WithEntrypoint("bash").WithArgs("-c", script);
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
        return new BackingService(name, ReferenceExpression.Create($"{client.Property(EndpointProperty.HostAndPort)}"), kafka.AsResource());
    }

    internal static IResourceBuilder<IResource> AsResource<T>(this IResourceBuilder<T> resource) where T : IResource =>
        resource.ApplicationBuilder.CreateResourceBuilder<IResource>(resource.Resource);
}
