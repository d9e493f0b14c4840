using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Push;
using AspireChat.Messaging.Storage;
using AspireChat.Messaging.Storage.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Hosting;

/// <summary>Picks each port's adapter from configuration (docs/configuration.md); the roles that use them are <see cref="ChatRoles"/>.</summary>
public static class ChatPipelineExtensions
{
    /// <summary>Whether the distributed topology's Kafka log is configured (<c>ConnectionStrings:kafka</c>).</summary>
    public static bool HasKafka(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration.GetConnectionString("kafka"));

    /// <summary>
    /// The ports, each with the adapter the configuration names. The store: PostgreSQL where <c>ConnectionStrings:postgres</c>
    /// is given (<see cref="PostgresStoreExtensions.AddPostgresChatStore"/>; the stand-in topology's), else MongoDB where
    /// <c>ConnectionStrings:mongo</c> is (<see cref="MongoStoreExtensions.AddMongoChatStore"/>), else the embedded RocksDB
    /// store in <c>Storage:Path</c>.
    /// The message log: Kafka where <c>ConnectionStrings:kafka</c> is given (<see cref="KafkaLogExtensions.AddKafkaMessageLog"/>),
    /// else in-process. Presence, routing, pending acks and worker-id leases: Redis where <c>ConnectionStrings:redis</c> is
    /// (<see cref="RedisExtensions.AddRedisAdapters"/>), else in memory. Every host starts from these.
    /// </summary>
    /// <param name="issuesIds">False in a host that issues no ids (the DeliveryWorker, the PushService): it leases no worker id.</param>
    public static IHostApplicationBuilder AddChatAdapters(this IHostApplicationBuilder builder, bool issuesIds = true)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.AddAdapterOptions(configuration);
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection("Storage"))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Path), "Storage:Path must name a folder").ValidateOnStart();

        if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString("postgres")) && !services.Any(d => d.ServiceType == typeof(IChatStore)))
            builder.AddPostgresChatStore();
        if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString("mongo")) && !services.Any(d => d.ServiceType == typeof(IChatStore)))
            builder.AddMongoChatStore();
        // Each engine registers all its ports where none is registered yet: the embedded RocksDB store takes what no
        // engine above took (its database opens at first use).
        services.AddRocksDbChatStore();
        builder.AddConsentStore();
        // Kafka and Redis when their connection strings are given (each registered once however often this is called).
        if (HasKafka(configuration) && !services.Any(d => d.ServiceType == typeof(KafkaMessageLog))) builder.AddKafkaMessageLog();
        builder.AddRedisAdapters(leaseWorkerId: issuesIds);
        services.TryAddSingleton<IMessageLog>(sp => new InMemoryMessageLog(sp.GetRequiredService<ILogger<InMemoryMessageLog>>()));
        // A remote IdService when service discovery names one (Aspire's WithReference), else in-process.
        if (configuration.GetSection("services:idservice").Exists())
        {
            services.AddHttpClient<HttpIdGenerator>(http => http.BaseAddress = new Uri("http://idservice"));
            services.TryAddSingleton<IIdGenerator>(sp => sp.GetRequiredService<HttpIdGenerator>());
        }
        services.TryAddSingleton<IIdGenerator>(sp => new SnowflakeIdGenerator(
            sp.GetRequiredService<IOptions<SnowflakeOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IPresenceStore, InMemoryPresenceStore>();
        services.TryAddSingleton<IPendingAcks, InMemoryPendingAcks>();
        services.TryAddSingleton<IDeliveryRouter, InProcessDeliveryRouter>();
        return builder;
    }
}
