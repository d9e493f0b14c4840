using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace AspireChat.Messaging.Log;

/// <summary>The Kafka log's instruments on the <c>AspireChat</c> meter (docs/configuration.md): produce latency and consumer lag.</summary>
internal static class KafkaLogMetrics
{
    public static readonly Histogram<double> ProduceDuration = ChatTelemetry.Meter.CreateHistogram<double>("aspirechat.log.produce.duration", unit: "ms",
        description: "Time from handing an append's records to the producer until the broker acknowledged all of them (or the append failed)");

    // One entry per running group member; a member updates its own lag, the gauge reads them all.
    private static readonly ConcurrentDictionary<LagReading, byte> Readings = new();

    private static readonly ObservableGauge<long> ConsumerLag = ChatTelemetry.Meter.CreateObservableGauge("aspirechat.log.consumer.lag", ObserveLag, unit: "{record}",
        description: "Records of the partitions a consumer group member owns past its committed offsets (high watermark − committed)");

    public static LagReading Register(string topic, string group)
    {
        _ = ConsumerLag;
        var reading = new LagReading(topic, group);
        Readings.TryAdd(reading, 0);
        return reading;
    }

    public static void Unregister(LagReading reading) => Readings.TryRemove(reading, out _);

    private static IEnumerable<Measurement<long>> ObserveLag() =>
        Readings.Keys.GroupBy(r => (r.Topic, r.Group)).Select(g => new Measurement<long>(g.Sum(r => Volatile.Read(ref r.Lag)),
            new KeyValuePair<string, object?>("messaging.destination.name", g.Key.Topic), new KeyValuePair<string, object?>("messaging.consumer.group.name", g.Key.Group)));

    /// <summary>The lag one member last measured.</summary>
    public sealed class LagReading(string topic, string group)
    {
        public string Topic { get; } = topic;
        public string Group { get; } = group;
        public long Lag;
    }
}
