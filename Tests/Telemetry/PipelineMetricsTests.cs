using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AspireChat.Messaging;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Telemetry;

/// <summary>
/// Tests that read the process-wide <c>AspireChat</c> meter or depend on which sampler decides run alone, so what
/// they see is theirs.
/// </summary>
[CollectionDefinition(nameof(ProcessWideTelemetry), DisableParallelization = true)]
public sealed class ProcessWideTelemetry;

/// <summary>The pipeline's metrics on the <c>AspireChat</c> meter (docs/configuration.md, Traces and metrics) move when messages flow.</summary>
[Collection(nameof(ProcessWideTelemetry))]
public sealed class PipelineMetricsTests
{
    [Fact]
    public async Task A_delivered_message_counts_as_accepted_delivered_and_acked_with_a_latency_and_a_pending_entry_until_acked_and_a_retry_when_not()
    {
        using var meter = new ChatMeter();
        // The sender never acks its own copy: it is pushed again after the (short) ack timeout.
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Delivery:AckTimeout"] = "00:00:00.300" });
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        await alice.SendChatAsync(1, "bob", "counted");
        await alice.ExpectAsync("ack");
        var msg = await bob.ExpectAsync("msg");
        Assert.Equal(1, meter.Sum("aspirechat.messages.accepted"));
        Assert.Equal(1, meter.Sum("aspirechat.messages.sequenced"));
        await Wait.UntilAsync(() => meter.Sum("aspirechat.messages.delivered") == 2, "both inbox entries (bob's, and alice's own device) were delivered");
        Assert.Equal(2, meter.Sum("aspirechat.inbox.appended"));
        Assert.Equal(2, meter.Count("aspirechat.delivery.latency"));
        Assert.All(meter.Values("aspirechat.delivery.latency"), latency => Assert.InRange(latency, 0, 60_000));
        Assert.True(meter.Observe("aspirechat.delivery.pending") >= 1, "bob's entry is pending until he acks");

        await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
        await Wait.UntilAsync(() => meter.Sum("aspirechat.delivery.acks") == 1, "bob's ack was counted");
        await Wait.UntilAsync(() => meter.Sum("aspirechat.delivery.retries") >= 1, "alice's unacked copy was pushed again");
    }

    /// <summary>Collects the measurements of the <c>AspireChat</c> meter while it lives.</summary>
    private sealed class ChatMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _values = new();
        private readonly ConcurrentDictionary<string, double> _observed = new();

        public ChatMeter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ChatTelemetry.Name) listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument, value));
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument, value));
            _listener.Start();
        }

        private void Record(Instrument instrument, double value)
        {
            if (instrument.GetType().Name.StartsWith("Observable", StringComparison.Ordinal)) _observed[instrument.Name] = value;
            else _values.GetOrAdd(instrument.Name, _ => new()).Enqueue(value);
        }

        public double Sum(string name) => Values(name).Sum();
        public int Count(string name) => Values(name).Length;
        public double[] Values(string name) => _values.TryGetValue(name, out var values) ? [.. values] : [];

        /// <summary>Reads the observable instruments now.</summary>
        public double Observe(string name)
        {
            _observed.TryRemove(name, out _);
            _listener.RecordObservableInstruments();
            return _observed.TryGetValue(name, out var value) ? value : double.NaN;
        }

        public void Dispose() => _listener.Dispose();
    }
}
