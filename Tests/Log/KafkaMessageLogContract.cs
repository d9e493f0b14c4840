using System.Collections.Concurrent;
using System.Diagnostics;
using AspireChat.Messaging;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace AspireChat.Tests.Log;

/// <summary>
/// What the Kafka log promises beyond the port's contract: trace context in record headers, and partition hand-over
/// between members of one group. Runs on the librdkafka mock cluster and on a real broker.
/// </summary>
public abstract class KafkaMessageLogContract : MessageLogContract
{
    protected abstract KafkaMessageLog KafkaLog { get; }

    protected override IMessageLog Log => KafkaLog;

    /// <summary>
    /// Settings for tests on the mock cluster: small topics (<paramref name="partitions"/>, as the test's mock topics have),
    /// a quick hand-over, a short grace for revoked handlers. The mock accepts any session timeout; a real broker refuses
    /// one below its <c>group.min.session.timeout.ms</c> (6 s by default): <see cref="BrokerTestOptions"/>.
    /// </summary>
    public static KafkaLogOptions TestOptions(string bootstrapServers, int partitions = 4) => new()
    {
        BootstrapServers = bootstrapServers,
        Partitions = partitions,
        SessionTimeout = TimeSpan.FromSeconds(3),
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        RevocationGrace = TimeSpan.FromMilliseconds(300),
        RetryBackoff = TimeSpan.FromMilliseconds(50),
    };

    /// <summary><see cref="TestOptions"/> with timeouts a real broker accepts: Kafka's minimum session timeout of 6 s.</summary>
    public static KafkaLogOptions BrokerTestOptions(string bootstrapServers)
    {
        var options = TestOptions(bootstrapServers);
        options.SessionTimeout = TimeSpan.FromSeconds(6);
        options.HeartbeatInterval = TimeSpan.FromSeconds(1);
        return options;
    }

    [SkippableFact]
    public async Task Kafka_records_carry_the_producers_trace_context_to_the_links_of_the_consumers_batch_span()
    {
        var topic = await NewTopicAsync();
        using var source = new ActivitySource("AspireChat.Tests.Log");
        // The propagator is a no-op until the OpenTelemetry SDK is built, as in every host (ServiceDefaults).
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(ChatTelemetry.Name, source.Name).Build();

        ActivityTraceId producerTrace;
        using (var send = source.StartActivity("send from the test"))
        {
            Assert.NotNull(send);
            producerTrace = send.TraceId;
            await Log.AppendAsync(topic, Records("t", 0, 3));
        }

        var batchSpan = new TaskCompletionSource<(ActivityTraceId Trace, ActivityTraceId[] Links, string Name)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (await StartConsumerAsync(topic, Group("trace"), (batch, _) =>
        {
            var current = Activity.Current;
            if (current is not null) batchSpan.TrySetResult((current.TraceId, [.. current.Links.Select(l => l.Context.TraceId)], current.DisplayName));
            return ValueTask.CompletedTask;
        }))
        {
            var (trace, links, name) = await Wait.ForAsync(batchSpan.Task, "a batch handled inside a span");
            Assert.Equal($"process {topic.Name}", name);
            Assert.Contains(producerTrace, links);
            Assert.NotEqual(producerTrace, trace); // a batch span is a root of its own that links to each record's trace
        }
    }

    [SkippableFact]
    public async Task Kafka_partitions_revoked_mid_batch_go_to_the_new_member_from_their_uncommitted_batch_and_never_back_to_the_old()
    {
        var topic = await NewTopicAsync();
        var group = Group("handover");
        var keys = Enumerable.Range(0, 16).Select(i => $"k{i:00}").ToArray();
        await Log.AppendAsync(topic, [.. keys.Select(k => new LogTestRecord(k, 0))]);

        // The old member hangs in every batch: each of its partitions has one batch in flight, never committed.
        var events = new ConcurrentQueue<(string Kind, string[] Keys)>();
        var handedToOld = 0;
        await using var old = await StartConsumerAsync(topic, group, async (batch, ct) =>
        {
            string[] batchKeys = [.. batch.Select(r => r.Key)];
            events.Enqueue(("handed", batchKeys));
            Interlocked.Increment(ref handedToOld);
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                events.Enqueue(("cancelled", batchKeys));
                throw;
            }
        });
        await Wait.UntilAsync(() => Volatile.Read(ref handedToOld) >= 4, "the old member has a batch of each of its 4 partitions in flight", TimeSpan.FromSeconds(30));

        var taken = new Handled();
        var newKeys = new ConcurrentDictionary<string, byte>();
        await using (await StartConsumerAsync(topic, group, (batch, _) =>
        {
            foreach (var record in batch) newKeys.TryAdd(record.Key, 0);
            taken.Add(batch);
            return ValueTask.CompletedTask;
        }))
        {
            // Cooperative hand-over: the old member gives up some partitions, cancelling their batches after the grace.
            string[] Revoked() => [.. events.Where(e => e.Kind == "cancelled").SelectMany(e => e.Keys)];
            await Wait.UntilAsync(() => Revoked().Length > 0 && Revoked().All(newKeys.ContainsKey),
                "the new member handles every record of the batches the old one was cut off in", TimeSpan.FromSeconds(30));

            var revoked = Revoked().ToHashSet();
            var log = events.ToArray();
            var cutAt = Array.FindIndex(log, e => e.Kind == "cancelled");
            Assert.DoesNotContain(log.Skip(cutAt), e => e.Kind == "handed" && e.Keys.Any(revoked.Contains));
            // The partitions the old member still holds (their batches still in flight) were never handed to the new one.
            var stillOld = log.Where(e => e.Kind == "handed").SelectMany(e => e.Keys).Where(k => !revoked.Contains(k));
            Assert.DoesNotContain(stillOld, newKeys.ContainsKey);
            Assert.All(revoked, k => Assert.Equal([0], taken.Of(k)));
        }
    }

    [SkippableFact]
    public async Task Kafka_tells_a_member_the_partitions_it_gave_up_so_the_heads_it_cached_as_their_writer_are_forgotten()
    {
        var topic = await NewTopicAsync();
        var group = Group("released");
        await Log.AppendAsync(topic, [.. Enumerable.Range(0, 16).Select(i => new LogTestRecord($"k{i:00}", 0))]);

        // The old member caches a head per record it handles, as stage 1 does, and forgets them as DeliveryHost wires it.
        var heads = new SequenceHeads();
        var released = new ConcurrentQueue<(int[] Partitions, bool Lost)>();
        var handled = new ConcurrentDictionary<string, byte>();
        using var stop = new CancellationTokenSource();
        var old = new RunningConsumer(stop, KafkaLog.ConsumeAsync(topic, group, (batch, _) =>
        {
            heads.Conversations.Committed(heads.Conversations.Epoch, [.. batch.Select(r => new KeyValuePair<string, long>(r.Key, 1))]);
            foreach (var record in batch) handled.TryAdd(record.Key, 0);
            return ValueTask.CompletedTask;
        }, (partitions, lost) =>
        {
            heads.Conversations.Forget();
            released.Enqueue(([.. partitions], lost));
        }, stop.Token));
        await using (old)
        {
            await Wait.UntilAsync(() => handled.Count == 16, "the only member handles every record", TimeSpan.FromSeconds(30));
            Assert.Empty(released);
            Assert.True(heads.Conversations.TryGet("k00", out _));

            // A second member joins: the cooperative rebalance takes some partitions from the first.
            await using (await StartConsumerAsync(topic, group, (_, _) => ValueTask.CompletedTask))
            {
                await Wait.UntilAsync(() => !released.IsEmpty, "the first member is told which partitions it gave up", TimeSpan.FromSeconds(30));
                var (partitions, lost) = Assert.Single(released);
                Assert.False(lost);
                Assert.NotEmpty(partitions);
                Assert.All(partitions, p => Assert.InRange(p, 0, 3));
                Assert.All(Enumerable.Range(0, 16), i => Assert.False(heads.Conversations.TryGet($"k{i:00}", out _)));
            }
        }
    }
}
