using AspireChat.Messaging.Groups;

namespace AspireChat.Messaging.Delivery;

/// <summary>Routing inside one process (embedded mode): node id → the sink registered for it.</summary>
public sealed class InProcessDeliveryRouter : IDeliveryRouter
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IDeviceSink> _sinks = new(StringComparer.Ordinal);

    public IDisposable Register(IDeviceSink sink)
    {
        _sinks[sink.Node] = sink;
        return new Registration(() => _sinks.TryRemove(new KeyValuePair<string, IDeviceSink>(sink.Node, sink)));
    }

    public ValueTask<bool> RouteAsync(string node, string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_sinks.TryGetValue(node, out var sink) && sink.TryDeliver(user, device, entries, redelivery));

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
