using AspireChat.Messaging.Groups;

namespace AspireChat.Messaging.Delivery;

/// <summary>The routing port: hands inbox entries to the gateway node that holds a device.</summary>
public interface IDeliveryRouter
{
    /// <summary>Makes a node's sink reachable (a gateway registers itself at start).</summary>
    IDisposable Register(IDeviceSink sink);

    /// <summary>
    /// Sends <paramref name="entries"/> to the device on <paramref name="node"/>; false when the node cannot be reached.
    /// <paramref name="redelivery"/>: entries pushed again past their ack deadline (see <see cref="IDeviceSink.TryDeliver"/>).
    /// </summary>
    ValueTask<bool> RouteAsync(string node, string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false, CancellationToken cancellationToken = default);

    /// <summary>Sends a group notice to every gateway node (one notice per node, not one per member).</summary>
    ValueTask BroadcastAsync(GroupNotice notice, CancellationToken cancellationToken = default);

    /// <summary>Sends a signal to the device on <paramref name="node"/> (the route <c>msg</c> takes); false when the node cannot be reached.</summary>
    ValueTask<bool> SignalAsync(string node, DeviceSignal signal, CancellationToken cancellationToken = default);
}
