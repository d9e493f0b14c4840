using AspireChat.Messaging.Groups;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Stage 1 → every gateway node: a large group's message (read diffusion, no inbox copy), or a
/// membership change so each node's local map group → connected members stays right.
/// </summary>
public sealed record GroupNotice(string Gid, ChatMessage? Message, IReadOnlyList<MembershipChange> Changes);

/// <summary>
/// A frame for one device that is relayed, never stored or retried: <c>read</c>, <c>receipt</c>, <c>typing</c>
/// (docs/protocol.md §12.8). <paramref name="Frame"/> is the serialized server → client frame.
/// </summary>
public sealed record DeviceSignal(string User, string Device, byte[] Frame);

/// <summary>A gateway node's side of routing: writes inbox entries and signals to the devices connected to it.</summary>
public interface IDeviceSink
{
    /// <summary>The node id devices register in presence.</summary>
    string Node { get; }

    /// <summary>Queues <paramref name="entries"/> (ascending <c>seq</c>) for the device; false when it is not connected here.</summary>
    bool TryDeliver(string user, string device, IReadOnlyList<InboxEntry> entries);

    /// <summary>Delivers a group notice to the members connected to this node.</summary>
    void OnGroupNotice(GroupNotice notice);

    /// <summary>Queues a signal's frame for its device; false when it is not connected here.</summary>
    bool TrySignal(DeviceSignal signal);
}

/// <summary>The routing port: hands inbox entries to the gateway node that holds a device.</summary>
public interface IDeliveryRouter
{
    /// <summary>Makes a node's sink reachable (a gateway registers itself at start).</summary>
    IDisposable Register(IDeviceSink sink);

    /// <summary>Sends <paramref name="entries"/> to the device on <paramref name="node"/>; false when the node cannot be reached.</summary>
    ValueTask<bool> RouteAsync(string node, string user, string device, IReadOnlyList<InboxEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>Sends a group notice to every gateway node (one notice per node, not one per member).</summary>
    ValueTask BroadcastAsync(GroupNotice notice, CancellationToken cancellationToken = default);

    /// <summary>Sends a signal to the device on <paramref name="node"/> (the route <c>msg</c> takes); false when the node cannot be reached.</summary>
    ValueTask<bool> SignalAsync(string node, DeviceSignal signal, CancellationToken cancellationToken = default);
}

/// <summary>Routing inside one process (embedded mode): node id → the sink registered for it.</summary>
public sealed class InProcessDeliveryRouter : IDeliveryRouter
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IDeviceSink> _sinks = new(StringComparer.Ordinal);

    public IDisposable Register(IDeviceSink sink)
    {
        _sinks[sink.Node] = sink;
        return new Registration(() => _sinks.TryRemove(new KeyValuePair<string, IDeviceSink>(sink.Node, sink)));
    }

    public ValueTask<bool> RouteAsync(string node, string user, string device, IReadOnlyList<InboxEntry> entries, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_sinks.TryGetValue(node, out var sink) && sink.TryDeliver(user, device, entries));

    public ValueTask BroadcastAsync(GroupNotice notice, CancellationToken cancellationToken = default)
    {
        foreach (var sink in _sinks.Values) sink.OnGroupNotice(notice);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> SignalAsync(string node, DeviceSignal signal, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_sinks.TryGetValue(node, out var sink) && sink.TrySignal(signal));

    private sealed class Registration(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
