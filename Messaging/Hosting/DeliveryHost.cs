using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// The pipeline after stage 0, as the DeliveryWorker runs it (and the gateway in embedded mode): stage 1 and stage 2
/// as consumers of the message log when the stages are distributed, the retry loop of pending entries past their
/// deadline, and the purge of old send records. The pending entries live in <see cref="IPendingAcks"/> (Redis in the
/// distributed topology), so whichever worker is alive retries them: a worker's death loses no retry. The purge is
/// store maintenance, idempotent, so every worker replica may run it.
/// </summary>
public sealed partial class DeliveryHost(
    IChatStore store, ICursorStore cursors, Groups.IGroupStore groups, IMessageLog log, SequenceStage sequence, InboxStage inbox, InboxRouter router,
    IOptions<DeliveryOptions> deliveryOptions, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<DeliveryHost> logger, bool consumesLog) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await groups.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The loops run until the host stops; one that ends before stops the host (<see cref="StageLoops"/>).</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = new List<(string, Task)>
        {
            ("retry", PeriodicLoop.RunAsync(deliveryOptions.Value.RetryInterval, time, RetryAsync, e => LogRetryFailed(logger, e), stoppingToken)),
            ("purge", PeriodicLoop.RunAsync(TimeSpan.FromHours(1), time, PurgeAsync, e => LogPurgeFailed(logger, e), stoppingToken)),
        };
        if (consumesLog)
        {
            // The embedded composition runs stages 1 and 2 inside each batch instead.
            // A partition that goes to another worker takes this process's right to its cached heads with it.
            loops.Add(($"{LogTopics.Accepted.Name} consumer (stage 1)",
                log.ConsumeAsync(LogTopics.Accepted, SequenceStage.ConsumerGroup, sequence.HandleAsync, (_, _) => sequence.Release(), stoppingToken)));
            loops.Add(($"{LogTopics.Inbox.Name} consumer (stage 2)",
                log.ConsumeAsync(LogTopics.Inbox, InboxStage.ConsumerGroup, inbox.HandleAsync, (_, _) => inbox.Release(), stoppingToken)));
        }
        return StageLoops.WatchAsync(loops, lifetime, logger, stoppingToken);
    }

    private async ValueTask RetryAsync(CancellationToken cancellationToken)
    {
        var retried = await router.RetryExpiredAsync(cancellationToken).ConfigureAwait(false);
        if (retried > 0) ChatTelemetry.Retried.Add(retried);
    }

    private async ValueTask PurgeAsync(CancellationToken cancellationToken) =>
        await cursors.PurgeSendRecordsAsync((time.GetUtcNow() - StorageOptions.SendDedupRetention).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retry loop pass failed")]
    private static partial void LogRetryFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purge of old send records failed")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
