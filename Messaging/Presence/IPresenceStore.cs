namespace AspireChat.Messaging.Presence;

/// <summary>One online device of a user and the gateway node that holds its connection.</summary>
public sealed record DevicePresence(string User, string Device, string Node, long Since);

/// <summary>What the presence API tells about a user.</summary>
public sealed record UserPresence(string User, bool Online, IReadOnlyList<string> Devices, long? LastSeen);

/// <summary>
/// The presence (online status) port: which devices of a user are online, and where. A device counts only
/// while its gateway node is alive: a node that has not heartbeated within <see cref="PresenceOptions.NodeTtl"/>
/// is gone, and its devices with it (docs/configuration.md).
/// </summary>
public interface IPresenceStore
{
    /// <summary>
    /// Records that <paramref name="node"/> is alive. False when presence did not hold it alive before (a new
    /// node, or one that expired and lost its devices): the node then registers its connected devices again.
    /// </summary>
    ValueTask<bool> HeartbeatAsync(string node, CancellationToken cancellationToken = default);

    /// <summary>Records that <paramref name="device"/> of <paramref name="user"/> is connected to <paramref name="node"/> (which proves the node alive).</summary>
    ValueTask ConnectAsync(string user, string device, string node, CancellationToken cancellationToken = default);

    /// <summary>Records the disconnect, unless the device has meanwhile connected to another node.</summary>
    ValueTask DisconnectAsync(string user, string device, string node, CancellationToken cancellationToken = default);

    /// <summary>The user's online devices.</summary>
    ValueTask<IReadOnlyList<DevicePresence>> GetDevicesAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Online status of each user, in the order asked.</summary>
    ValueTask<IReadOnlyList<UserPresence>> GetPresenceAsync(IReadOnlyList<string> users, CancellationToken cancellationToken = default);
}
