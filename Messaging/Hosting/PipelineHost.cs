using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// Runs the pipeline stages in this process: the accept loop, the stage 1 and stage 2 consumers, the
/// retry loop and the purge of old send records. Embedded mode runs all of them in the Gateway.
/// </summary>
public sealed partial class PipelineHost(
    IChatStore store, Groups.IGroupStore groups, IMessageLog log, AcceptStage accept, SequenceStage sequence, InboxStage inbox,
    InboxDelivery delivery, CursorRecorder cursors, IOptions<DeliveryOptions> deliveryOptions, TimeProvider time, ILogger<PipelineHost> logger) : BackgroundService
{
    /// <summary>How long (re)sends are deduplicated by (user, device, req).</summary>
    public static readonly TimeSpan SendDedupRetention = TimeSpan.FromDays(7);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Tables exist before the first connection is accepted.
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await groups.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(
        Task.Run(() => accept.RunAsync(stoppingToken), CancellationToken.None),
        log.ConsumeAsync(LogTopics.Accepted, SequenceStage.ConsumerGroup, sequence.HandleAsync, stoppingToken),
        log.ConsumeAsync(LogTopics.Inbox, InboxStage.ConsumerGroup, inbox.HandleAsync, stoppingToken),
        RetryLoopAsync(stoppingToken),
        CursorFlushLoopAsync(stoppingToken),
        PurgeLoopAsync(stoppingToken));

    private async Task RetryLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(deliveryOptions.Value.RetryInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var retried = await delivery.RetryExpiredAsync(stoppingToken).ConfigureAwait(false);
                    if (retried > 0) ChatTelemetry.Retried.Add(retried);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogRetryFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>How often acknowledged cursors are written (see <see cref="CursorRecorder"/>).</summary>
    public static readonly TimeSpan CursorFlushInterval = TimeSpan.FromMilliseconds(500);

    private async Task CursorFlushLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CursorFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await cursors.FlushAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogCursorFlushFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // A clean stop writes what is left.
        await cursors.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private async Task PurgeLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await store.PurgeSendRecordsAsync((time.GetUtcNow() - SendDedupRetention).ToUnixTimeMilliseconds(), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogPurgeFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retry loop pass failed")]
    private static partial void LogRetryFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing acknowledged cursors failed; they stay queued")]
    private static partial void LogCursorFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purge of old send records failed")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
