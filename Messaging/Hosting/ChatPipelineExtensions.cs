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

/// <summary>Registers the pipeline and picks each port's adapter from configuration (DESIGN §9).</summary>
public static class ChatPipelineExtensions
{
    /// <summary>Default SQLite file of the embedded store, relative to the working directory.</summary>
    public const string DefaultChatDb = "Data Source=data/aspirechat.db";

    /// <summary>
    /// The whole pipeline in this process (embedded mode): stages 0–2, the retry loop, the push consumer
    /// (<see cref="PushExtensions.AddPushService"/>), and the adapters of <see cref="AddChatAdapters"/>.
    /// </summary>
    public static IHostApplicationBuilder AddChatPipeline(this IHostApplicationBuilder builder)
    {
        builder.AddChatAdapters();
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.Configure<DeliveryOptions>(configuration.GetSection("Delivery"));
        services.Configure<LimitsOptions>(configuration.GetSection("Limits"));
        services.Configure<GroupOptions>(configuration.GetSection("Groups"));
        services.TryAddSingleton<ISendPermission, GroupSendPermission>();
        services.TryAddSingleton<GroupService>();
        services.TryAddSingleton<GroupTimeline>();

        services.TryAddSingleton<CursorRecorder>();
        services.TryAddSingleton<InboxDelivery>();
        services.TryAddSingleton<AcceptStage>();
        services.TryAddSingleton<SequenceStage>();
        services.TryAddSingleton<InboxStage>();
        services.AddHostedService<PipelineHost>();
        builder.AddPushService();
        return builder;
    }

    /// <summary>
    /// The ports, each with the adapter the configuration names — the MongoDB store where
    /// <c>ConnectionStrings:mongo</c> is given (see <see cref="MongoStoreExtensions.AddMongoChatStore"/>), else
    /// SQLite; the embedded log where no <c>ConnectionStrings:kafka</c>; in-memory presence and pending acks where
    /// no <c>redis</c>. Service hosts that run one part of the pipeline (the PushService) start from these.
    /// </summary>
    public static IHostApplicationBuilder AddChatAdapters(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<EmbeddedLogOptions>(configuration.GetSection("EmbeddedLog"));
        services.Configure<SnowflakeOptions>(configuration.GetSection("Snowflake"));
        services.Configure<PresenceOptions>(configuration.GetSection("Presence"));

        // The store: MongoDB when a connection string names one (and no store is registered yet), else SQLite.
        if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString("mongo")) && !services.Any(d => d.ServiceType == typeof(IChatStore)))
            builder.AddMongoChatStore();
        // The embedded log lives in the SQLite file too, so the database is registered in either case.
        services.TryAddSingleton(_ => new SqliteDatabase(
            configuration.GetConnectionString("chatdb") ?? DefaultChatDb,
            synchronousFull: string.Equals(configuration["Storage:Synchronous"], "Full", StringComparison.OrdinalIgnoreCase)));
        services.TryAddSingleton<IChatStore, SqliteChatStore>();
        services.TryAddSingleton<IMessageLog>(sp => new EmbeddedMessageLog(
            sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<IOptions<EmbeddedLogOptions>>().Value,
            sp.GetRequiredService<ILogger<EmbeddedMessageLog>>()));
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
        services.TryAddSingleton<IGroupStore, SqliteGroupStore>();
        return builder;
    }
}
