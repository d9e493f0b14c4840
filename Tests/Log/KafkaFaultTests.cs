using System.Collections.Concurrent;
using AspireChat.Messaging.Log;
using AspireChat.Tests.Support;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Log;

/// <summary>
/// The Kafka log when a client fails for good or a topic is not what the log counts on (decision 0018), on the mock
/// cluster with faults a real broker would cause injected into its answers. The backoffs before a rebuild run on a
/// <see cref="FakeTimeProvider"/>, so a test sees the faulted state before it lets the rebuild happen.
/// </summary>
public sealed class KafkaFaultTests
{
    private static LogTopic<LogTestRecord> Topic(string name) => new(name, r => r.Key, LogTestJson.Default.LogTestRecord);

    private static List<LogTestRecord> Records(int count) => [.. Enumerable.Range(0, count).Select(n => new LogTestRecord($"k{n % 4}", n))];

    [Fact]
    public async Task A_consumer_fenced_out_of_its_group_flips_health_to_unhealthy_and_a_rebuilt_consumer_handles_every_record()
    {
        var name = $"test.fenced.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: [name]);
        var time = new FakeTimeProvider();
        using var log = new KafkaMessageLog(KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2), NullLogger<KafkaMessageLog>.Instance, time);
        await log.AppendAsync(Topic(name), Records(20));
        // The group coordinator answers the first join "fenced": librdkafka makes that a fatal error of the consumer.
        cluster.PushRequestErrors(KafkaApi.JoinGroup, ErrorCode.FencedInstanceId);

        var handled = new ConcurrentDictionary<int, byte>();
        using var stop = new CancellationTokenSource();
        var consuming = log.ConsumeAsync(Topic(name), "fenced", (batch, _) =>
        {
            foreach (var record in batch) handled.TryAdd(record.N, 0);
            return ValueTask.CompletedTask;
        }, stop.Token);

        var faulted = await Wait.ForObjectAsync(() => Task.FromResult(log.Members.SingleOrDefault(m => m.Phase == KafkaMemberPhase.Faulted)),
            "the consumer faults", TimeSpan.FromSeconds(30));
        Assert.Equal((name, "fenced", 1), (faulted.Topic, faulted.Group, faulted.Restarts));
        var report = await HealthAsync(log);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains($"{name}/fenced faulted", report.Description);
        Assert.Empty(handled);

        // The backoff passes: a new consumer joins and takes every record from the committed offsets (none yet).
        time.Advance(log.Options.RetryBackoff);
        await Wait.UntilAsync(() => handled.Count == 20, "the rebuilt consumer handles every record", TimeSpan.FromSeconds(30));
        Assert.Equal(KafkaMemberPhase.Assigned, Assert.Single(log.Members).Phase);
        Assert.Equal(HealthStatus.Healthy, (await HealthAsync(log)).Status);
        Assert.False(consuming.IsCompleted);

        await stop.CancelAsync();
        await Wait.ForAsync(consuming, "the consumer stops");
        Assert.Empty(log.Members);
    }

    [Fact]
    public async Task A_consumer_that_faults_more_times_in_a_row_than_it_may_restart_fails_ConsumeAsync_with_the_reason()
    {
        var name = $"test.gives-up.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: [name]);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.ConsumerRestarts = 1;
        var time = new FakeTimeProvider();
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance, time);
        // More errors than the two faults need: a member may send JoinGroup more than once before its fault (a retry
        // under load), and the next member must still meet one — otherwise it joins and the test waits for nothing.
        cluster.PushRequestErrors(KafkaApi.JoinGroup, Enumerable.Repeat(ErrorCode.FencedInstanceId, 6).ToArray());

        var consuming = log.ConsumeAsync(Topic(name), "gives-up", (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        await Wait.UntilAsync(() => log.Members.Any(m => m.Phase == KafkaMemberPhase.Faulted), "the consumer faults once", TimeSpan.FromSeconds(30));
        time.Advance(options.RetryBackoff);

        var failure = await Assert.ThrowsAsync<MessageLogException>(() => consuming.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"{name}/gives-up faulted 2 times in a row", failure.Message);
        Assert.Empty(log.Members);
    }

    [Fact]
    public async Task A_fatal_idempotent_producer_error_flips_health_to_unhealthy_and_the_rebuilt_producer_takes_the_next_appends()
    {
        var name = $"test.fatal.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: [name]);
        var time = new FakeTimeProvider();
        using var log = new KafkaMessageLog(KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2), NullLogger<KafkaMessageLog>.Instance, time);
        var topic = Topic(name);
        await log.AppendAsync(topic, [new LogTestRecord("k", 0)]);

        // The broker answers the next produce "out of order sequence" for the batch it expected next: the idempotent
        // producer can no longer tell what was written, which librdkafka makes fatal.
        cluster.PushRequestErrors(KafkaApi.Produce, ErrorCode.OutOfOrderSequenceNumber);
        await Assert.ThrowsAsync<MessageLogException>(() => log.AppendAsync(topic, [new LogTestRecord("k", 1)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        await Wait.UntilAsync(() => log.Producer.Fatal is not null, "the producer reports its fatal error", TimeSpan.FromSeconds(30));

        var report = await HealthAsync(log);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("fatal", report.Description);
        // Until it is rebuilt, an append fails at once (the sender hears unavailable and retries).
        var refused = await Assert.ThrowsAsync<MessageLogException>(() => log.AppendAsync(topic, [new LogTestRecord("k", 2)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("fatal error and is being rebuilt", refused.Message);

        time.Advance(log.Options.RetryBackoff);
        await Wait.UntilAsync(() => log.Producer.Fatal is null, "the producer is rebuilt", TimeSpan.FromSeconds(30));
        await log.AppendAsync(topic, [new LogTestRecord("k", 3)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(new KafkaProducerState(null, 1), log.Producer);
        Assert.Equal(HealthStatus.Healthy, (await HealthAsync(log)).Status);
    }

    [Fact]
    public async Task A_fatal_producer_that_cannot_be_rebuilt_stops_the_host_after_its_attempts_saying_why()
    {
        var name = $"test.not-rebuilt.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: [name]);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.ProducerRebuildAttempts = 3;
        var time = new FakeTimeProvider();
        var lifetime = new RecordingLifetime();
        var logs = new CapturedLogs();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var builds = 0;
        // The first producer is built; every new one fails, as a producer whose configuration no longer holds would.
        using var log = new KafkaMessageLog(options, loggers.CreateLogger<KafkaMessageLog>(), time, lifetime,
            builder => Interlocked.Increment(ref builds) == 1 ? builder.Build() : throw new InvalidOperationException("no producer handle"));
        var topic = Topic(name);
        await log.AppendAsync(topic, [new LogTestRecord("k", 0)]);
        cluster.PushRequestErrors(KafkaApi.Produce, ErrorCode.OutOfOrderSequenceNumber);
        await Assert.ThrowsAsync<MessageLogException>(() => log.AppendAsync(topic, [new LogTestRecord("k", 1)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        await Wait.UntilAsync(() => log.Producer.Fatal is not null, "the producer reports its fatal error", TimeSpan.FromSeconds(30));

        // Each backoff passes (doubling); each new producer fails to build; after the third failure the host is stopped.
        await Wait.UntilAsync(() =>
        {
            time.Advance(options.MaxRetryBackoff);
            return lifetime.Stopped;
        }, "the log stops the host", TimeSpan.FromSeconds(30));
        Assert.Equal(1 + 3, Volatile.Read(ref builds));
        Assert.Equal(2, logs.AtLeast(LogLevel.Error).Count(m => m.StartsWith("A new Kafka producer could not be built", StringComparison.Ordinal)));
        var critical = Assert.Single(logs.AtLeast(LogLevel.Critical), m => m.StartsWith("The Kafka producer", StringComparison.Ordinal));
        Assert.Contains("3 new producers in a row could not be built; stopping the host", critical);
        Assert.NotNull(log.Producer.Fatal);
        Assert.Equal(HealthStatus.Unhealthy, (await HealthAsync(log)).Status);
    }

    [Fact]
    public async Task A_handler_that_keeps_failing_on_a_batch_degrades_health_naming_its_partition_until_the_batch_passes()
    {
        var name = $"test.failing-handler.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: [name]);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.MaxRetryBackoff = TimeSpan.FromMilliseconds(200);
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance);
        await log.AppendAsync(Topic(name), Records(20));

        var handled = new ConcurrentDictionary<int, byte>();
        var refusing = 1;
        using var stop = new CancellationTokenSource();
        var consuming = log.ConsumeAsync(Topic(name), "degraded", (batch, _) =>
        {
            // As a store that refuses one record: its batch fails on every attempt until the store takes it again.
            if (Volatile.Read(ref refusing) == 1 && batch.Any(r => r.N == 3)) throw new InvalidOperationException("record 3 refused");
            foreach (var record in batch) handled.TryAdd(record.N, 0);
            return ValueTask.CompletedTask;
        }, stop.Token);

        await Wait.UntilAsync(async () => (await HealthAsync(log)).Status == HealthStatus.Degraded, "health degrades", TimeSpan.FromSeconds(30));
        var partition = Assert.Single(Assert.Single(log.Members).FailingPartitions);
        var report = await HealthAsync(log);
        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Contains($"the handler of {name}/degraded keeps failing on partition(s) {partition}", report.Description);
        Assert.Equal($"2 partition(s), handler failing on partition(s) {partition}", report.Data[$"member {name}/degraded"]);
        Assert.False(handled.ContainsKey(3));

        // The store takes it again: the retried batch passes, and health is back.
        Volatile.Write(ref refusing, 0);
        await Wait.UntilAsync(() => handled.Count == 20, "every record is handled", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => (await HealthAsync(log)).Status == HealthStatus.Healthy, "health is back", TimeSpan.FromSeconds(30));
        Assert.Empty(Assert.Single(log.Members).FailingPartitions);

        await stop.CancelAsync();
        await Wait.ForAsync(consuming, "the consumer stops");
    }

    [Fact]
    public async Task An_existing_topic_with_another_partition_count_is_refused_by_appends_and_consumers_naming_both_counts()
    {
        var name = $"test.one-partition.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 4, topics: []);
        // As a producer's auto-creation (or a hand-made topic) would have left it: one partition.
        cluster.CreateTopic(name, partitions: 1);
        using var log = new KafkaMessageLog(KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 4), NullLogger<KafkaMessageLog>.Instance);

        var append = await Assert.ThrowsAsync<MessageLogException>(() => log.AppendAsync(Topic(name), [new LogTestRecord("k", 0)]).AsTask());
        Assert.Contains($"Kafka topic {name} has 1 partition(s), but Kafka:Partitions is 4", append.Message);
        var consume = await Assert.ThrowsAsync<MessageLogException>(() => log.ConsumeAsync(Topic(name), "refused", (_, _) => ValueTask.CompletedTask, CancellationToken.None));
        Assert.Equal(append.Message, consume.Message);
        Assert.Empty(log.Members);
    }

    [Fact]
    public async Task A_consumer_that_could_not_check_its_topic_at_start_refuses_it_at_assignment_when_it_has_another_partition_count()
    {
        var name = $"test.late-wrong.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: []);
        using var log = new KafkaMessageLog(LateTopicOptions(cluster), NullLogger<KafkaMessageLog>.Instance);

        // The topic is missing and the mock cluster cannot create it: the consumer subscribes unchecked and waits.
        var handled = 0;
        var consuming = log.ConsumeAsync(Topic(name), "late-wrong", (batch, _) =>
        {
            Interlocked.Add(ref handled, batch.Count);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        await Wait.UntilAsync(() => log.Members.Count == 1, "the consumer subscribes", TimeSpan.FromSeconds(30));

        // It appears with one partition, as a producer's auto-creation would have left it, and records are written to it.
        cluster.CreateTopic(name, partitions: 1);
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            for (var n = 0; n < 5; n++)
                await producer.ProduceAsync(name, new Message<Null, byte[]> { Value = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new LogTestRecord("k", n), LogTestJson.Default.LogTestRecord) });
        }

        var refused = await Assert.ThrowsAsync<MessageLogException>(() => consuming.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Kafka topic {name} has 1 partition(s), but Kafka:Partitions is 2", refused.Message);
        Assert.Equal(0, Volatile.Read(ref handled));
        Assert.Empty(log.Members);
    }

    [Fact]
    public async Task A_consumer_that_could_not_check_its_topic_at_start_checks_it_at_assignment_and_consumes_it_when_it_is_right()
    {
        var name = $"test.late-right.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: []);
        using var log = new KafkaMessageLog(LateTopicOptions(cluster), NullLogger<KafkaMessageLog>.Instance);
        var handled = new ConcurrentDictionary<int, byte>();
        using var stop = new CancellationTokenSource();
        var consuming = log.ConsumeAsync(Topic(name), "late-right", (batch, _) =>
        {
            foreach (var record in batch) handled.TryAdd(record.N, 0);
            return ValueTask.CompletedTask;
        }, stop.Token);
        await Wait.UntilAsync(() => log.Members.Count == 1, "the consumer subscribes", TimeSpan.FromSeconds(30));
        Assert.False(log.IsTopicChecked(name));

        cluster.CreateTopic(name);
        await Wait.UntilAsync(() => log.Members.Single().Phase == KafkaMemberPhase.Assigned, "the consumer is assigned the topic's partitions", TimeSpan.FromSeconds(60));
        Assert.True(log.IsTopicChecked(name));
        await log.AppendAsync(Topic(name), Records(10));
        await Wait.UntilAsync(() => handled.Count == 10, "the consumer handles every record", TimeSpan.FromSeconds(30));

        await stop.CancelAsync();
        await Wait.ForAsync(consuming, "the consumer stops");
    }

    // A topic missing at start: the mock cluster's admin API answers no creation, so the startup check fails within the
    // message timeout; the subscribed consumer looks for the topic twice a second (librdkafka's default is five minutes).
    private static KafkaLogOptions LateTopicOptions(KafkaMockCluster cluster)
    {
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.MessageTimeout = TimeSpan.FromSeconds(2);
        options.Settings["topic.metadata.refresh.interval.ms"] = "500";
        return options;
    }

    [Fact]
    public async Task A_topic_the_cluster_did_not_create_is_not_remembered_and_is_never_auto_created_by_a_produce()
    {
        var name = $"test.missing.{Guid.NewGuid():n}";
        using var cluster = new KafkaMockCluster(partitions: 2, topics: []);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.MessageTimeout = TimeSpan.FromSeconds(2);
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance);

        // The mock cluster's admin API does not create topics: the append fails, saying which topic was not created.
        var failed = await Assert.ThrowsAsync<MessageLogException>(() => log.AppendAsync(Topic(name), [new LogTestRecord("k", 0)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"did not create topic {name}", failed.Message);
        Assert.DoesNotContain(log.GetMetadata(TimeSpan.FromSeconds(5)).Topics, t => t.Topic == name);

        // Once the topic exists the next append asks the cluster again and goes through.
        cluster.CreateTopic(name);
        await log.AppendAsync(Topic(name), [new LogTestRecord("k", 1)]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Topics_are_replicated_on_three_brokers_where_there_are_three_unless_the_setting_says_otherwise()
    {
        using var defaults = new KafkaMessageLog(new KafkaLogOptions { BootstrapServers = "127.0.0.1:1" }, NullLogger<KafkaMessageLog>.Instance);
        Assert.Equal([1, 2, 3, 3], new[] { 1, 2, 3, 5 }.Select(brokers => (int)defaults.ReplicationFactorFor(brokers)));
        using var given = new KafkaMessageLog(new KafkaLogOptions { BootstrapServers = "127.0.0.1:1", ReplicationFactor = 2 }, NullLogger<KafkaMessageLog>.Instance);
        Assert.Equal(2, given.ReplicationFactorFor(5));
    }

    [Theory]
    [InlineData(1, 1, null)]
    [InlineData(2, 2, null)]
    [InlineData(3, 3, "2")]
    [InlineData(5, 3, "2")]
    public void A_created_topic_has_the_logs_partitions_min_3_brokers_replicas_two_in_sync_at_three_and_the_configured_retention(
        int brokers, short replicas, string? minInsync)
    {
        using var host = Registered(new() { ["Kafka:Partitions"] = "6", ["Kafka:Retention"] = "1.12:00:00" });

        var topic = host.Services.GetRequiredService<KafkaMessageLog>().TopicSpecificationFor("chat.accepted", brokers);

        Assert.Equal(("chat.accepted", 6, replicas), (topic.Name, topic.NumPartitions, topic.ReplicationFactor));
        Assert.Equal((36 * 3_600_000L).ToString(System.Globalization.CultureInfo.InvariantCulture), topic.Configs["retention.ms"]);
        Assert.Equal(minInsync, topic.Configs.GetValueOrDefault("min.insync.replicas"));
    }

    [Fact]
    public void A_replication_factor_set_below_three_or_to_the_brokers_default_asks_no_minimum_in_sync()
    {
        using var two = Registered(new() { ["Kafka:ReplicationFactor"] = "2" });
        var topic = two.Services.GetRequiredService<KafkaMessageLog>().TopicSpecificationFor("chat.inbox", brokers: 5);
        Assert.Equal(2, topic.ReplicationFactor);
        Assert.False(topic.Configs.ContainsKey("min.insync.replicas"));
        Assert.Equal(((long)TimeSpan.FromDays(7).TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), topic.Configs["retention.ms"]);

        using var brokerDefault = Registered(new() { ["Kafka:ReplicationFactor"] = "-1" });
        topic = brokerDefault.Services.GetRequiredService<KafkaMessageLog>().TopicSpecificationFor("chat.inbox", brokers: 5);
        Assert.Equal(-1, topic.ReplicationFactor);
        Assert.False(topic.Configs.ContainsKey("min.insync.replicas"));
    }

    [Fact]
    public void Consumers_use_the_classic_group_protocol_and_no_client_auto_creates_topics()
    {
        using var log = new KafkaMessageLog(new KafkaLogOptions { BootstrapServers = "127.0.0.1:1" }, NullLogger<KafkaMessageLog>.Instance);

        var consumer = log.ConsumerConfig("sequence");
        Assert.Equal(GroupProtocol.Classic, consumer.GroupProtocol);
        Assert.Equal(PartitionAssignmentStrategy.CooperativeSticky, consumer.PartitionAssignmentStrategy);
        Assert.False(consumer.AllowAutoCreateTopics);
        var producer = log.ProducerConfig();
        Assert.False(producer.AllowAutoCreateTopics);
        Assert.Equal((true, Acks.All), (producer.EnableIdempotence, producer.Acks));
    }

    // A host with the log as AddKafkaMessageLog builds it from configuration (the Kafka section); nothing connects until it is used.
    private static IHost Registered(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings) { ["ConnectionStrings:kafka"] = "127.0.0.1:1" });
        builder.Services.AddLogging();
        builder.AddKafkaMessageLog("kafka");
        return builder.Build();
    }

    /// <summary>A host's lifetime that records being told to stop.</summary>
    private sealed class RecordingLifetime : IHostApplicationLifetime
    {
        private volatile bool _stopped;

        public bool Stopped => _stopped;
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopped = true;
    }

    private static Task<HealthCheckResult> HealthAsync(KafkaMessageLog log) =>
        new KafkaLogHealthCheck(log).CheckHealthAsync(new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("kafka", _ => null!, HealthStatus.Unhealthy, null),
        });
}
