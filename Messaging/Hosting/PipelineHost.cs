using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// Runs the pipeline in this process: the composition of the stages (embedded: stages 0–2 in one write per batch;
/// distributed: stage 0 to the log, and stages 1 and 2 as its consumers), the retry loop, the cursor flush, the
/// receipt flush and the purge of old send records. Embedded mode runs all of them in the Gateway.
/// </summary>
public sealed partial class PipelineHost(
    IChatStore store, Groups.IGroupStore groups, IMessageLog log, IPipelineComposition composition, SequenceStage sequence, InboxStage inbox,
    InboxDelivery delivery, CursorRecorder cursors, ReceiptNotifier receipts, IOptions<DeliveryOptions> deliveryOptions, TimeProvider time, ILogger<PipelineHost> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Tables exist before the first connection is accepted.
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await groups.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = new List<Task>
        {
            Task.Run(() => composition.RunAsync(stoppingToken), CancellationToken.None),
            RetryLoopAsync(stoppingToken),
            CursorFlushLoopAsync(stoppingToken),
            ReceiptLoopAsync(stoppingToken),
            PurgeLoopAsync(stoppingToken),
        };
        if (composition is DistributedComposition)
        {
            // Stages 1 and 2 consume the log; the embedded composition runs them inside each batch instead.
            loops.Add(log.ConsumeAsync(LogTopics.Accepted, SequenceStage.ConsumerGroup, sequence.HandleAsync, stoppingToken));
            loops.Add(log.ConsumeAsync(LogTopics.Inbox, InboxStage.ConsumerGroup, inbox.HandleAsync, stoppingToken));
        }
        return Task.WhenAll(loops);
    }

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

    private async Task ReceiptLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReceiptNotifier.Window, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await receipts.FlushAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogReceiptFlushFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // A clean stop writes the delivered positions gathered since the last flush.
        await receipts.FlushDeliveredAsync(CancellationToken.None).ConfigureAwait(false);
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
                    await store.PurgeSendRecordsAsync((time.GetUtcNow() - StorageOptions.SendDedupRetention).ToUnixTimeMilliseconds(), stoppingToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending receipts failed; the positions are stored and can be queried")]
    private static partial void LogReceiptFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purge of old send records failed")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
