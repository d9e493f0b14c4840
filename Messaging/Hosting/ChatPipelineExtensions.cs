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

/// <summary>Registers the pipeline and picks each port's adapter from configuration (docs/configuration.md).</summary>
public static class ChatPipelineExtensions
{
    /// <summary>
    /// The gateway's pipeline, and the adapters of <see cref="AddChatAdapters"/>. Embedded mode (no Kafka): the whole
    /// pipeline in this process — stages 0–2, the retry loop, the push consumer (<see cref="PushExtensions.AddPushService"/>).
    /// With Kafka (<c>ConnectionStrings:kafka</c>) the gateway runs stage 0 only, to <c>chat.accepted</c>, plus what its
    /// connections need (hello backlog, acks, cursors, receipts, push subscriptions); stages 1 and 2 and the retry loop
    /// run in the DeliveryWorkers (<see cref="AddDeliveryWorker"/>), the push consumer in the PushService. Kafka needs
    /// Redis beside it: the workers reach this node's devices through its routing channel.
    /// </summary>
    public static IHostApplicationBuilder AddChatPipeline(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var workersElsewhere = HasKafka(configuration);
        if (workersElsewhere) RequireRedis(configuration, "the gateway");
        builder.AddChatAdapters();
        var services = builder.Services;
        services.AddPipelineOptions(configuration);
        services.TryAddSingleton<ISendPermission, GroupSendPermission>();
        services.TryAddSingleton<GroupService>();
        services.TryAddSingleton<GroupTimeline>();

        services.TryAddSingleton<ConversationMembership>();
        services.TryAddSingleton<ConversationList>();
        services.TryAddSingleton<DeviceSignals>();
        services.TryAddSingleton<ReceiptNotifier>();
        services.TryAddSingleton<ReadPositions>();
        services.TryAddSingleton<TypingRelay>();
        services.TryAddSingleton<SendQueue>();
        services.TryAddSingleton<AcceptStage>();
        AddStages(services);
        // Stages 1 and 2 inside each batch (embedded), or as consumers of the message log (distributed).
        var distributed = IsDistributed(configuration);
        if (distributed) services.TryAddSingleton<IPipelineComposition, DistributedComposition>();
        else services.TryAddSingleton<IPipelineComposition, EmbeddedComposition>();
        services.AddHostedService<PipelineHost>();
        services.AddHostedService<PipelineGauges>();
        if (workersElsewhere)
        {
            builder.AddPushSubscriptions();
            return builder;
        }
        // No Kafka: this process is also the delivery worker (over the in-process log when the composition is distributed).
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<DeliveryHost>(sp, distributed));
        builder.AddPushService();
        return builder;
    }

    /// <summary>
    /// The DeliveryWorker: stage 1 and stage 2 as consumers of the Kafka log (one consumer group per stage, so the
    /// replicas split the partitions and take over a dead one's), the retry loop of pending entries and the purge of old
    /// send records (<see cref="DeliveryHost"/>). It needs <c>ConnectionStrings:kafka</c> and <c>ConnectionStrings:redis</c>.
    /// </summary>
    public static IHostApplicationBuilder AddDeliveryWorker(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (!HasKafka(configuration))
            throw new InvalidOperationException("The DeliveryWorker consumes the Kafka log: set ConnectionStrings:kafka (host:port of the bootstrap servers).");
        RequireRedis(configuration, "the DeliveryWorker");
        builder.AddChatAdapters(issuesIds: false);
        builder.Services.AddPipelineOptions(configuration);
        AddStages(builder.Services);
        builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<DeliveryHost>(sp, true));
        return builder;
    }

    private static void AddStages(IServiceCollection services)
    {
        services.TryAddSingleton<CursorRecorder>();
        services.TryAddSingleton<InboxDelivery>();
        services.TryAddSingleton<SequenceStage>();
        services.TryAddSingleton<InboxStage>();
    }

    private static bool HasKafka(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration.GetConnectionString("kafka"));

    private static void RequireRedis(IConfiguration configuration, string who)
    {
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString("redis")))
            throw new InvalidOperationException($"With ConnectionStrings:kafka set, {who} needs ConnectionStrings:redis: presence, routing between gateway nodes and pending acks live in Redis.");
    }

    /// <summary>
    /// Whether the stages run as consumers of a message log: when Kafka is configured (<c>ConnectionStrings:kafka</c>),
    /// or when <c>Pipeline:Composition</c> says <c>Distributed</c> (over the in-process log: tests run the distributed
    /// composition's code this way).
    /// </summary>
    public static bool IsDistributed(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration.GetConnectionString("kafka"))
        || string.Equals(configuration["Pipeline:Composition"], "Distributed", StringComparison.OrdinalIgnoreCase);

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
        // The embedded RocksDB store for every store port no adapter above took (the database opens at first use).
        services.TryAddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new RocksDbDatabase(storage.Path, storage.Synchronous == StorageSynchronous.Full);
        });
        services.TryAddSingleton<IChatStore, RocksDbChatStore>();
        services.TryAddSingleton<IGroupStore, RocksDbGroupStore>();
        services.TryAddSingleton<IPushSubscriptionStore, RocksDbPushSubscriptionStore>();
        // The narrow ports of the chat store, each served by the store's adapter.
        services.TryAddSingleton<ITimelineStore>(sp => sp.GetRequiredService<IChatStore>());
        services.TryAddSingleton<IInboxStore>(sp => sp.GetRequiredService<IChatStore>());
        services.TryAddSingleton<IConversationIndex>(sp => sp.GetRequiredService<IChatStore>());
        services.TryAddSingleton<ICursorStore>(sp => sp.GetRequiredService<IChatStore>());
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
