using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Push;
using AspireChat.Messaging.Storage;
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
    /// The whole pipeline in this process (embedded mode): stages 0–2, the retry loop, the push consumer
    /// (<see cref="PushExtensions.AddPushService"/>), and the adapters of <see cref="AddChatAdapters"/>.
    /// </summary>
    public static IHostApplicationBuilder AddChatPipeline(this IHostApplicationBuilder builder)
    {
        builder.AddChatAdapters();
        var services = builder.Services;
        var configuration = builder.Configuration;
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
        services.TryAddSingleton<CursorRecorder>();
        services.TryAddSingleton<InboxDelivery>();
        services.TryAddSingleton<SendQueue>();
        services.TryAddSingleton<AcceptStage>();
        // Stages 1 and 2 inside each batch (embedded), or as consumers of the message log (distributed).
        if (IsDistributed(configuration)) services.TryAddSingleton<IPipelineComposition, DistributedComposition>();
        else services.TryAddSingleton<IPipelineComposition, EmbeddedComposition>();
        services.TryAddSingleton<SequenceStage>();
        services.TryAddSingleton<InboxStage>();
        services.AddHostedService<PipelineHost>();
        services.AddHostedService<PipelineGauges>();
        builder.AddPushService();
        return builder;
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
    /// The ports, each with the adapter the configuration names. The store: MongoDB where <c>ConnectionStrings:mongo</c>
    /// is given (see <see cref="MongoStoreExtensions.AddMongoChatStore"/>), SQLite where <c>ConnectionStrings:chatdb</c> is
    /// (the file the services of the stand-in topology share), else the embedded RocksDB store in <c>Storage:Path</c>.
    /// The message log in-process where no Kafka is registered; in-memory presence and pending acks where no Redis is.
    /// Service hosts that run one part of the pipeline (the PushService) start from these.
    /// </summary>
    public static IHostApplicationBuilder AddChatAdapters(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.AddAdapterOptions(configuration);
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection("Storage"))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Path), "Storage:Path must name a folder").ValidateOnStart();

        if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString("mongo")) && !services.Any(d => d.ServiceType == typeof(IChatStore)))
            builder.AddMongoChatStore();
        if (configuration.GetConnectionString("chatdb") is { Length: > 0 } chatdb)
        {
            services.TryAddSingleton(sp => new SqliteDatabase(chatdb, sp.GetRequiredService<IOptions<StorageOptions>>().Value.Synchronous == StorageSynchronous.Full));
            services.TryAddSingleton<IChatStore, SqliteChatStore>();
            services.TryAddSingleton<IGroupStore, SqliteGroupStore>();
            services.TryAddSingleton<IPushSubscriptionStore, SqlitePushSubscriptionStore>();
        }
        else
        {
            // Also beside MongoDB: push subscriptions have no MongoDB adapter yet.
            services.TryAddSingleton(sp =>
            {
                var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
                return new RocksDbDatabase(storage.Path, storage.Synchronous == StorageSynchronous.Full);
            });
            services.TryAddSingleton<IChatStore, RocksDbChatStore>();
            services.TryAddSingleton<IGroupStore, RocksDbGroupStore>();
            services.TryAddSingleton<IPushSubscriptionStore, RocksDbPushSubscriptionStore>();
        }
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
