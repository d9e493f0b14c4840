using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Routing between processes through Redis pub/sub: each gateway node subscribes to its own channel
/// (<c>route:node:{node}</c>), which carries the inbox entries for the devices it holds, to its signal channel
/// (<c>route:signal:{node}</c>: read, receipt and typing frames), and to one broadcast channel for
/// group notices; so a node receives only its own traffic and the broadcasts. A node's messages are handed to its sink
/// one at a time, in the order published. Pub/sub keeps nothing: what a node misses while it is away is pushed again by the
/// retry loop or synced by the device (docs/protocol.md §8).
/// </summary>
public sealed partial class RedisDeliveryRouter(IConnectionMultiplexer redis, ILogger<RedisDeliveryRouter> logger, string channelPrefix = "route") : IDeliveryRouter
{
    private readonly RedisChannel _broadcast = RedisChannel.Literal($"{channelPrefix}:groups");

    public IDisposable Register(IDeviceSink sink)
    {
        var subscriber = redis.GetSubscriber();
        var own = subscriber.Subscribe(NodeChannel(sink.Node));
        own.OnMessage(message =>
        {
            try
            {
                var routed = JsonSerializer.Deserialize((byte[])message.Message!, MessagingJson.Default.RoutedEntries)!;
                sink.TryDeliver(routed.User, routed.Device, WithTraces(routed), routed.Redelivery);
            }
            catch (Exception e)
            {
                LogHandlingFailed(logger, e, sink.Node);
            }
        });
        var signals = subscriber.Subscribe(SignalChannel(sink.Node));
        signals.OnMessage(message =>
        {
            try
            {
                sink.TrySignal(JsonSerializer.Deserialize((byte[])message.Message!, MessagingJson.Default.DeviceSignal)!);
            }
            catch (Exception e)
            {
                LogHandlingFailed(logger, e, sink.Node);
            }
        });
        var groups = subscriber.Subscribe(_broadcast);
        groups.OnMessage(message =>
        {
            try
            {
                sink.OnGroupNotice(JsonSerializer.Deserialize((byte[])message.Message!, MessagingJson.Default.GroupNotice)!);
            }
            catch (Exception e)
            {
                LogHandlingFailed(logger, e, sink.Node);
            }
        });
        return new Registration(own, signals, groups);
    }

    public async ValueTask<bool> RouteAsync(string node, string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false, CancellationToken cancellationToken = default)
    {
        string?[]? traces = null;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Trace == default) continue;
            (traces ??= new string?[entries.Count])[i] = MessageTracing.TraceParentOf(entries[i].Trace);
        }
        var payload = JsonSerializer.SerializeToUtf8Bytes(new RoutedEntries(user, device, entries, redelivery, traces), MessagingJson.Default.RoutedEntries);
        // PUBLISH answers how many subscribers got it: none means the node is gone (or not subscribed yet).
        return await redis.GetSubscriber().PublishAsync(NodeChannel(node), payload).ConfigureAwait(false) > 0;
    }

    public async ValueTask BroadcastAsync(GroupNotice notice, CancellationToken cancellationToken = default)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(notice, MessagingJson.Default.GroupNotice);
        await redis.GetSubscriber().PublishAsync(_broadcast, payload).ConfigureAwait(false);
    }

    public async ValueTask<bool> SignalAsync(string node, DeviceSignal signal, CancellationToken cancellationToken = default)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(signal, MessagingJson.Default.DeviceSignal);
        return await redis.GetSubscriber().PublishAsync(SignalChannel(node), payload).ConfigureAwait(false) > 0;
    }

    private static IReadOnlyList<InboxEntry> WithTraces(RoutedEntries routed)
    {
        if (routed.Traces is not { } traces || traces.Count != routed.Entries.Count) return routed.Entries;
        var entries = new InboxEntry[routed.Entries.Count];
        for (var i = 0; i < entries.Length; i++)
            entries[i] = MessageTracing.FromTraceParent(traces[i]) is var trace && trace != default ? routed.Entries[i] with { Trace = trace } : routed.Entries[i];
        return entries;
    }

    private RedisChannel NodeChannel(string node) => RedisChannel.Literal($"{channelPrefix}:node:{node}");

    private RedisChannel SignalChannel(string node) => RedisChannel.Literal($"{channelPrefix}:signal:{node}");

    [LoggerMessage(Level = LogLevel.Error, Message = "Handing a routed message to node {Node} failed")]
    private static partial void LogHandlingFailed(ILogger logger, Exception exception, string node);

    private sealed class Registration(ChannelMessageQueue own, ChannelMessageQueue signals, ChannelMessageQueue groups) : IDisposable
    {
        public void Dispose()
        {
            own.Unsubscribe();
            signals.Unsubscribe();
            groups.Unsubscribe();
        }
    }
}
