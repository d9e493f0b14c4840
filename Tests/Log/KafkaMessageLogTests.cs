using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AspireChat.Messaging;
using AspireChat.Messaging.Log;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>The Kafka log when the broker is missing or goes away, its registration, and its metrics (mock cluster).</summary>
public sealed class KafkaMessageLogTests
{
    private static LogTopic<LogTestRecord> Topic(string name) => new(name, r => r.Key, LogTestJson.Default.LogTestRecord);

    [Fact]
    public async Task An_append_to_a_Kafka_port_nobody_listens_on_throws_instead_of_completing()
    {
        var options = KafkaMessageLogContract.TestOptions($"127.0.0.1:{GatewayProcess.FreePort()}");
        options.MessageTimeout = TimeSpan.FromMilliseconds(1500);
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance);

        var append = log.AppendAsync(Topic("test.unreachable"), [new LogTestRecord("k", 0)]).AsTask();

        // Well past the message timeout: a hang fails as a TimeoutException, a false success as no exception.
        await Assert.ThrowsAsync<MessageLogException>(() => append.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task An_append_while_the_Kafka_broker_is_down_fails_at_the_message_timeout_and_succeeds_once_the_broker_is_back()
    {
        using var cluster = new KafkaMockCluster(partitions: 2, topics: ["test.down"]);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.MessageTimeout = TimeSpan.FromMilliseconds(1500);
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance);
        var topic = Topic("test.down");
        await log.AppendAsync(topic, [new LogTestRecord("k", 0)]);

        cluster.SetBrokerDown();
        var failed = await Assert.ThrowsAsync<MessageLogException>(() => log.AppendAsync(topic, [new LogTestRecord("k", 1), new LogTestRecord("j", 0)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("acknowledge", failed.Message);

        // Back up: the producer reconnects with its own backoff, so an append may still time out for a moment; the caller
        // retries (as a sender retransmits) and one succeeds.
        cluster.SetBrokerUp();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                await log.AppendAsync(topic, [new LogTestRecord("k", 2)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                return true;
            }
            catch (MessageLogException)
            {
                return false;
            }
        }, "an append succeeds once the broker is back", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AddKafkaMessageLog_registers_the_Kafka_log_and_a_health_check_that_asks_the_cluster_for_metadata()
    {
        using var cluster = new KafkaMockCluster(partitions: 2);
        using var healthy = Host(cluster.BootstrapServers);
        Assert.IsType<KafkaMessageLog>(healthy.Services.GetRequiredService<IMessageLog>());
        Assert.Same(healthy.Services.GetRequiredService<KafkaMessageLog>(), healthy.Services.GetRequiredService<IMessageLog>());
        Assert.Equal(4, healthy.Services.GetRequiredService<KafkaMessageLog>().Options.Partitions);
        var report = await healthy.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries["kafka"].Status);

        using var unreachable = Host($"127.0.0.1:{GatewayProcess.FreePort()}");
        report = await unreachable.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["kafka"].Status);

        static IHost Host(string bootstrap)
        {
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:kafka"] = bootstrap,
                ["Kafka:Partitions"] = "4",
            });
            builder.Services.AddLogging();
            builder.AddKafkaMessageLog("kafka");
            return builder.Build();
        }
    }

    [Fact]
    public void AddKafkaMessageLog_without_a_connection_string_says_which_one_is_missing()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var error = Assert.Throws<InvalidOperationException>(() => builder.AddKafkaMessageLog("kafka"));
        Assert.Contains("ConnectionStrings:kafka", error.Message);
    }

    [Fact]
    public async Task Kafka_log_reports_produce_latency_and_the_lag_of_a_consumer_behind_its_partitions_on_the_AspireChat_meter()
    {
        var name = $"test.metrics.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 1, topics: [name]);
        using var log = new KafkaMessageLog(KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 1), NullLogger<KafkaMessageLog>.Instance);
        var topic = Topic(name);

        var produced = new ConcurrentQueue<double>();
        var lag = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == ChatTelemetry.Name) l.EnableMeasurementEvents(instrument); },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "aspirechat.log.produce.duration" && HasTopic(tags, name)) produced.Enqueue(value);
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "aspirechat.log.consumer.lag" && HasTopic(tags, name)) lag["now"] = value;
        });
        listener.Start();

        await log.AppendAsync(topic, Records(0, 50));
        Assert.Single(produced);

        // The handler holds its first batch: the lag is what lies past the committed offset; it drains once released.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = 0;
        using var stop = new CancellationTokenSource();
        var consumer = log.ConsumeAsync(topic, "metrics", async (batch, ct) =>
        {
            await release.Task.WaitAsync(ct);
            Interlocked.Add(ref handled, batch.Count);
        }, stop.Token);
        bool LagIs(Func<long, bool> test)
        {
            listener.RecordObservableInstruments();
            return lag.TryGetValue("now", out var value) && test(value);
        }
        await Wait.UntilAsync(() => LagIs(v => v == 50), "the consumer reports a lag of 50", TimeSpan.FromSeconds(30));
        release.SetResult();
        await Wait.UntilAsync(() => LagIs(v => v == 0), "the lag drains to 0 once the records are handled and committed", TimeSpan.FromSeconds(30));
        Assert.Equal(50, Volatile.Read(ref handled));
        await stop.CancelAsync();
        await consumer.WaitAsync(TimeSpan.FromSeconds(30));

        static bool HasTopic(ReadOnlySpan<KeyValuePair<string, object?>> tags, string topic)
        {
            foreach (var tag in tags) if (tag.Key == "messaging.destination.name" && Equals(tag.Value, topic)) return true;
            return false;
        }
    }

    private static List<LogTestRecord> Records(int from, int count) => [.. Enumerable.Range(from, count).Select(n => new LogTestRecord("k", n))];
}
