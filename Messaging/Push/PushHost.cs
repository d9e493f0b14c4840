using AspireChat.Messaging.Log;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Push;

/// <summary>
/// The push consumer (docs/configuration.md): reads <c>chat.push</c> and hands each request to the <see cref="PushCollapser"/>.
/// The gateway runs it in-process in embedded mode; the PushService host runs it in the distributed topology.
/// </summary>
public sealed class PushHost(IPushSubscriptionStore subscriptions, IMessageLog log, PushCollapser collapser, IHostApplicationLifetime lifetime, ILogger<PushHost> logger)
    : BackgroundService
{
    public const string ConsumerGroup = "push";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The table exists before the HTTP API can store the first subscription.
        await subscriptions.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Consumes until the host stops; a consumer that ends before stops the host (<see cref="Hosting.StageLoops"/>).</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Hosting.StageLoops.WatchAsync([($"{LogTopics.Push.Name} consumer", log.ConsumeAsync(LogTopics.Push, ConsumerGroup, HandleAsync, stoppingToken))], lifetime, logger, stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // Windows still open would be lost: send them now (presence still decides), within the shutdown time.
        try
        {
            await collapser.FlushAllAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ValueTask HandleAsync(IReadOnlyList<PushRequested> batch, CancellationToken cancellationToken) =>
        collapser.AddAsync(batch, cancellationToken);
}
