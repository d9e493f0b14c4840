using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Presence;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// Sends a relayed frame (read, receipt, typing) to a user's online devices: presence names each device's gateway
/// node, and the frame travels the route <c>msg</c> takes (<see cref="IDeliveryRouter.SignalAsync"/>). Nothing is
/// stored or retried: a device that is offline or moving misses it and reads the state over HTTP.
/// </summary>
public sealed class DeviceSignals(IPresenceStore presence, IDeliveryRouter router)
{
    /// <summary>Sends <paramref name="frame"/> to every online device of <paramref name="user"/> except <paramref name="exceptDevice"/>.</summary>
    public async ValueTask SendAsync<T>(string user, T frame, string? exceptDevice = null, CancellationToken cancellationToken = default) where T : class
    {
        var devices = await presence.GetDevicesAsync(user, cancellationToken).ConfigureAwait(false);
        byte[]? bytes = null;
        foreach (var device in devices)
        {
            if (device.Device == exceptDevice) continue;
            bytes ??= FrameCodec.Write(frame);
            await router.SignalAsync(device.Node, new DeviceSignal(user, device.Device, bytes), cancellationToken).ConfigureAwait(false);
        }
    }
}
