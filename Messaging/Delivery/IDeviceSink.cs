using AspireChat.Messaging.Groups;

namespace AspireChat.Messaging.Delivery;

/// <summary>A gateway node's side of routing: writes inbox entries and signals to the devices connected to it.</summary>
public interface IDeviceSink
{
    /// <summary>The node id devices register in presence.</summary>
    string Node { get; }

    /// <summary>
    /// Queues <paramref name="entries"/> (ascending <c>seq</c>) for the device; false when it is not connected here.
    /// <paramref name="redelivery"/> marks entries pushed again past their ack deadline, as opposed to new ones.
    /// </summary>
    bool TryDeliver(string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false);

    /// <summary>Delivers a group notice to the members connected to this node.</summary>
    void OnGroupNotice(GroupNotice notice);

    /// <summary>Queues a signal's frame for its device; false when it is not connected here.</summary>
    bool TrySignal(DeviceSignal signal);
}
