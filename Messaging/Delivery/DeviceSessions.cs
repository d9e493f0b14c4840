using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Makes the <see cref="DeviceSession"/> of each connection a gateway node accepts, with what the session's constructor
/// asks for. The same in the embedded and the distributed gateway: the ports' adapters differ, not this.
/// </summary>
public sealed class DeviceSessions(IServiceProvider services)
{
    private static readonly ObjectFactory<DeviceSession> Factory = ActivatorUtilities.CreateFactory<DeviceSession>([typeof(IDeviceTransport)]);

    /// <summary>A session for a new connection, awaiting its hello.</summary>
    public DeviceSession Create(IDeviceTransport transport) => Factory(services, [transport]);
}
