using AspireChat.Messaging.Presence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AspireChat.Messaging.Delivery;

/// <summary>Registers the device sessions of a gateway node (the gateway and the tests call this; the transport is theirs).</summary>
public static class DeviceSessionExtensions
{
    /// <summary>
    /// The node's <see cref="DeviceRegistry"/> named <paramref name="node"/>, the session factory and what sessions share
    /// (<see cref="InboxClaims"/>, <see cref="SessionGroups"/>), the node's registration with the delivery router and its
    /// presence heartbeat. The host supplies an <see cref="ITokenValidator"/>.
    /// </summary>
    public static IServiceCollection AddDeviceSessions(this IServiceCollection services, Func<IServiceProvider, string> node)
    {
        services.TryAddSingleton(sp => new DeviceRegistry(node(sp)));
        services.TryAddSingleton<InboxClaims>();
        // The inbox heads this process committed, when it writes inboxes (embedded); empty otherwise (InboxClaims reads storage).
        services.TryAddSingleton<Storage.SequenceHeads>();
        services.TryAddSingleton<SessionGroups>();
        services.TryAddSingleton<DeviceSessions>();
        services.AddHostedService<SinkRegistration>();
        services.AddHostedService<PresenceHeartbeat>();
        return services;
    }

    /// <summary>Makes this node's sessions reachable by the delivery router while the host runs.</summary>
    private sealed class SinkRegistration(IDeliveryRouter router, DeviceRegistry registry) : IHostedService
    {
        private IDisposable? _registration;
        public Task StartAsync(CancellationToken cancellationToken) { _registration = router.Register(registry); return Task.CompletedTask; }
        public Task StopAsync(CancellationToken cancellationToken) { _registration?.Dispose(); return Task.CompletedTask; }
    }
}
