using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// The gateway's part of the pipeline: the composition of the stages (embedded: stages 0–2 in one write per batch;
/// distributed: stage 0 to the log), and the loops that belong to the connections the gateway holds — acknowledged
/// cursors and delivered positions are gathered in this process from its devices' acks, so this process writes them.
/// The work after stage 0 (stages 1 and 2 as log consumers, retries, purge) is <see cref="DeliveryHost"/>'s.
/// </summary>
public sealed partial class PipelineHost(
    IChatStore store, Groups.IGroupStore groups, IPipelineComposition composition, CursorRecorder cursors, ReceiptNotifier receipts,
    TimeProvider time, IHostApplicationLifetime lifetime, ILogger<PipelineHost> logger) : BackgroundService
{
    /// <summary>How often acknowledged cursors are written (see <see cref="CursorRecorder"/>).</summary>
    public static readonly TimeSpan CursorFlushInterval = TimeSpan.FromMilliseconds(500);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Tables exist before the first connection is accepted.
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await groups.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The loops run until the host stops; one that ends before — stage 0 failing leaves every send unanswered — stops the
    /// host (<see cref="StageLoops"/>).
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => StageLoops.WatchAsync(
    [
        ("stage 0 (accept)", Task.Run(() => composition.RunAsync(stoppingToken), CancellationToken.None)),
        ("cursor flush", CursorFlushLoopAsync(stoppingToken)),
        ("receipt", ReceiptLoopAsync(stoppingToken)),
    ], lifetime, logger, stoppingToken);

    private async Task CursorFlushLoopAsync(CancellationToken stoppingToken)
    {
        await PeriodicLoop.RunAsync(CursorFlushInterval, time, async ct => await cursors.FlushAsync(ct).ConfigureAwait(false),
            e => LogCursorFlushFailed(logger, e), stoppingToken).ConfigureAwait(false);
        // A clean stop writes what is left.
        await cursors.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ReceiptLoopAsync(CancellationToken stoppingToken)
    {
        await PeriodicLoop.RunAsync(ReceiptNotifier.Window, time, async ct => await receipts.FlushAsync(ct).ConfigureAwait(false),
            e => LogReceiptFlushFailed(logger, e), stoppingToken).ConfigureAwait(false);
        // A clean stop writes the delivered positions gathered since the last flush.
        await receipts.FlushDeliveredAsync(CancellationToken.None).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing acknowledged cursors failed; they stay queued")]
    private static partial void LogCursorFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending receipts failed; the positions are stored and can be queried")]
    private static partial void LogReceiptFlushFailed(ILogger logger, Exception exception);
}
