using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Operations;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Push;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// One composition per process role (decision 0012): each registers exactly what that role runs, on the adapters of
/// <see cref="ChatPipelineExtensions.AddChatAdapters"/>. Which role a gateway process plays is decided once, in
/// <see cref="AddChatGateway"/>.
/// </summary>
public static class ChatRoles
{
    /// <summary>
    /// The gateway process. Without <c>ConnectionStrings:kafka</c>: the embedded composition (<see cref="AddEmbeddedChat"/>).
    /// With it: a gateway node of the distributed topology (<see cref="AddGatewayNode"/>). <c>Pipeline:Composition=Distributed</c>
    /// without Kafka runs the distributed composition in one process over the in-process log (a gateway node, a delivery
    /// worker and the push consumer together), so tests exercise its code without a broker.
    /// </summary>
    public static IHostApplicationBuilder AddChatGateway(this IHostApplicationBuilder builder)
    {
        if (ChatPipelineExtensions.HasKafka(builder.Configuration)) return builder.AddGatewayNode();
        if (!string.Equals(builder.Configuration["Pipeline:Composition"], "Distributed", StringComparison.OrdinalIgnoreCase)) return builder.AddEmbeddedChat();
        builder.AddGatewayNode();
        AddStages(builder.Services, consumesLog: true);
        return builder.AddPushService();
    }

    /// <summary>
    /// Embedded: one process runs every stage — stage 0 to 2 in one atomic store write per batch (<see cref="EmbeddedComposition"/>),
    /// the retry loop, the purge and the push consumer — beside the device sessions it serves.
    /// </summary>
    public static IHostApplicationBuilder AddEmbeddedChat(this IHostApplicationBuilder builder)
    {
        AddAcceptingNode(builder);
        builder.Services.TryAddSingleton<IPipelineComposition, EmbeddedComposition>();
        AddStages(builder.Services, consumesLog: false);
        return builder.AddPushService();
    }

    /// <summary>
    /// A gateway node of the distributed topology: stage 0 to <c>chat.accepted</c> (<see cref="DistributedComposition"/>),
    /// and what its connections need — hello backlog, acks, cursors, receipts, the push subscription API. Stages 1 and 2 run
    /// in the DeliveryWorkers (<see cref="AddDeliveryWorker"/>), the push consumer in the PushService. With Kafka it needs
    /// Redis: the workers reach this node's devices through its routing channel.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayNode(this IHostApplicationBuilder builder)
    {
        if (ChatPipelineExtensions.HasKafka(builder.Configuration)) RequireRedis(builder.Configuration, "the gateway");
        AddAcceptingNode(builder);
        builder.Services.TryAddSingleton<IPipelineComposition, DistributedComposition>();
        return builder.AddPushSubscriptions();
    }

    /// <summary>
    /// The DeliveryWorker: stage 1 and stage 2 as consumers of the Kafka log (one consumer group per stage, so the replicas
    /// split the partitions and take over a dead one's), the retry loop of pending entries and the purge of old send records
    /// (<see cref="DeliveryHost"/>). It needs <c>ConnectionStrings:kafka</c> and <c>ConnectionStrings:redis</c>.
    /// </summary>
    public static IHostApplicationBuilder AddDeliveryWorker(this IHostApplicationBuilder builder)
    {
        if (!ChatPipelineExtensions.HasKafka(builder.Configuration))
            throw new InvalidOperationException("The DeliveryWorker consumes the Kafka log: set ConnectionStrings:kafka (host:port of the bootstrap servers).");
        RequireRedis(builder.Configuration, "the DeliveryWorker");
        builder.AddChatAdapters(issuesIds: false);
        builder.Services.AddPipelineOptions(builder.Configuration);
        AddStages(builder.Services, consumesLog: true);
        return builder;
    }

    /// <summary>The PushService: the consumer of <c>chat.push</c> and the providers, on the shared adapters; it issues no ids.</summary>
    public static IHostApplicationBuilder AddChatPushService(this IHostApplicationBuilder builder)
    {
        builder.AddChatAdapters(issuesIds: false);
        return builder.AddPushService();
    }

    // A process that takes sends: stage 0 and its rules, the conversation services the sessions and the HTTP API use,
    // the loops of cursors and receipts gathered from its devices' acks (PipelineHost).
    private static void AddAcceptingNode(IHostApplicationBuilder builder)
    {
        builder.AddChatAdapters();
        var services = builder.Services;
        services.AddPipelineOptions(builder.Configuration);
        services.TryAddSingleton<ReadableMessages>();
        services.TryAddSingleton<OperationRules>();
        services.TryAddSingleton<ISendPermission, GroupSendPermission>();
        services.TryAddSingleton<MessageViews>();
        services.TryAddSingleton<GroupService>();
        services.TryAddSingleton<GroupTimeline>();
        services.TryAddSingleton<ConversationMembership>();
        services.TryAddSingleton<ConversationList>();
        services.TryAddSingleton<DeviceSignals>();
        services.TryAddSingleton<ReceiptNotifier>();
        services.TryAddSingleton<ReadPositions>();
        services.TryAddSingleton<TypingRelay>();
        services.TryAddSingleton<CursorRecorder>();
        services.TryAddSingleton<SendQueue>();
        services.TryAddSingleton<AcceptStage>();
        services.AddHostedService<PipelineHost>();
        services.AddHostedService<PipelineGauges>();
    }

    // Stages 1 and 2, the routing of their entries to devices, the retry loop and the purge: inside each batch of the
    // embedded composition, or as consumers of the message log.
    private static void AddStages(IServiceCollection services, bool consumesLog)
    {
        services.TryAddSingleton<InboxRouter>();
        services.TryAddSingleton<MessageOperations>();
        services.TryAddSingleton<SequenceStage>();
        services.TryAddSingleton<InboxStage>();
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<DeliveryHost>(sp, consumesLog));
    }

    private static void RequireRedis(IConfiguration configuration, string who)
    {
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString("redis")))
            throw new InvalidOperationException($"With ConnectionStrings:kafka set, {who} needs ConnectionStrings:redis: presence, routing between gateway nodes and pending acks live in Redis.");
    }
}
