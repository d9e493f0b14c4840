using AspireChat.Messaging.Delivery;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Presence;

/// <summary>
/// Keeps this node alive in presence: a heartbeat every <c>Presence:HeartbeatInterval</c>. When presence had
/// given the node up (it was silent past the TTL and its devices were dropped), the node's connected devices
/// are registered again, so a node that stalled and recovered is not left looking empty.
/// </summary>
public sealed partial class PresenceHeartbeat(
    IPresenceStore presence, DeviceRegistry registry, IOptions<PresenceOptions> options, TimeProvider time,
    ILogger<PresenceHeartbeat> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        try
        {
            do
            {
                try
                {
                    await BeatAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogHeartbeatFailed(logger, e);
                }
            } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One heartbeat; re-registers this node's devices when presence had lost them.</summary>
    public async ValueTask BeatAsync(CancellationToken cancellationToken = default)
    {
        if (await presence.HeartbeatAsync(registry.Node, cancellationToken).ConfigureAwait(false)) return;
        foreach (var (user, device) in registry.Devices())
        {
            await presence.ConnectAsync(user, device, registry.Node, cancellationToken).ConfigureAwait(false);
            // The device may have left while it was being registered; its own disconnect may have come first.
            if (!registry.Holds(user, device)) await presence.DisconnectAsync(user, device, registry.Node, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence heartbeat failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception);
}
