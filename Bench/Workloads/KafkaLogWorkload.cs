using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AspireChat.Bench.Measuring;
using AspireChat.Bench.Reporting;
using AspireChat.Messaging;
using AspireChat.Messaging.Log;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the Kafka log workload.</summary>
/// <param name="Records">Records appended in each produce-throughput phase.</param>
/// <param name="Batches">Records per <c>AppendAsync</c> call, one phase each.</param>
/// <param name="Appenders">Appends in flight at once (the accept stage has one; several gateways have more).</param>
/// <param name="Rate">Records per second of the latency phase (open loop, one record per append).</param>
/// <param name="Settings">librdkafka properties for the log's clients (<see cref="KafkaLogOptions.Settings"/>).</param>
public sealed record KafkaBenchOptions(int Partitions, int Records, IReadOnlyList<int> Batches, int Appenders, double Rate, TimeSpan Duration, int BodyBytes,
    IReadOnlyDictionary<string, string> Settings);

/// <summary>
/// <see cref="KafkaMessageLog"/> on librdkafka's mock cluster in this process: produce throughput (appends acknowledged
/// with <c>acks=all</c>, idempotent producer), the rate one group member drains it at, and produce→consume latency at a
/// fixed rate. The records are the pipeline's own <see cref="MessageAccepted"/>, keyed by conversation.
/// </summary>
public static class KafkaLogWorkload
{
    public static async Task<BenchResult> RunAsync(BenchContext context, KafkaBenchOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("kafka");
        using var cluster = new KafkaMockCluster(options.Partitions, topics: []);
        using var log = new KafkaMessageLog(new KafkaLogOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Partitions = options.Partitions,
            Settings = new Dictionary<string, string>(options.Settings),
        }, NullLogger<KafkaMessageLog>.Instance);
        var body = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["text"] = new('x', options.BodyBytes) });

        var phase = 0;
        foreach (var batch in options.Batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var topic = Topic(cluster, $"bench.throughput.{phase++}");
            context.View.Say($"kafka: {options.Records:N0} records in appends of {batch}, {options.Appenders} in flight");
            result.Phases.Add(await ThroughputAsync(log, topic, options, batch, body, cancellationToken).ConfigureAwait(false));
            GC.Collect();
        }

        context.View.Say($"kafka: produce→consume latency at {options.Rate:N0} records/s for {options.Duration.TotalSeconds:N0} s");
        result.Phases.Add(await LatencyAsync(log, Topic(cluster, "bench.latency"), options, body, cancellationToken).ConfigureAwait(false));
        if (options.Settings.Count > 0) result.Notes.Add("librdkafka settings: " + string.Join(", ", options.Settings.Select(p => $"{p.Key}={p.Value}")));
        result.Notes.Add($"librdkafka {Confluent.Kafka.Library.VersionString} mock cluster (1 broker, in memory, in the Bench process), {options.Partitions} partitions; " +
            "producer and consumer in the same process, so the figures include their CPU.");
        return result;
    }

    private static LogTopic<MessageAccepted> Topic(KafkaMockCluster cluster, string name)
    {
        cluster.CreateTopic(name);
        return new LogTopic<MessageAccepted>(name, m => m.Conv, MessagingJson.Default.MessageAccepted);
    }

    private static MessageAccepted Record(long id, JsonElement body) =>
        new(id, $"s:u{id % 1000}:v{id % 1000}", 0, $"u{id % 1000}", "bench", id, $"v{id % 1000}", 1, body, null, Stopwatch.GetTimestamp());

    private static async Task<PhaseResult> ThroughputAsync(KafkaMessageLog log, LogTopic<MessageAccepted> topic, KafkaBenchOptions options, int batch,
        JsonElement body, CancellationToken cancellationToken)
    {
        var appendLatency = new LatencyRecorder();
        long next = 0;
        var probe = new ResourceProbe(null);
        var resourcesAtStart = probe.Take();
        var clock = Stopwatch.StartNew();
        var appenders = Enumerable.Range(0, options.Appenders).Select(_ => Task.Run(async () =>
        {
            var records = new MessageAccepted[batch];
            while (true)
            {
                var first = Interlocked.Add(ref next, batch) - batch;
                if (first >= options.Records) return;
                var count = (int)Math.Min(batch, options.Records - first);
                for (var i = 0; i < count; i++) records[i] = Record(first + i, body);
                var started = Stopwatch.GetTimestamp();
                await log.AppendAsync(topic, count == batch ? records : records[..count], cancellationToken).ConfigureAwait(false);
                appendLatency.Record(started, Stopwatch.GetTimestamp());
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(appenders).ConfigureAwait(false);
        var produceSeconds = clock.Elapsed.TotalSeconds;
        var resources = ResourceProbe.Between(resourcesAtStart, probe.Take());

        // One member of a fresh group reads the topic back from the start; joining the group is timed apart.
        var consumed = 0L;
        long firstRecord = 0;
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        clock.Restart();
        var consumer = log.ConsumeAsync(topic, $"bench.drain.{topic.Name}", (records, _) =>
        {
            Interlocked.CompareExchange(ref firstRecord, Stopwatch.GetTimestamp(), 0);
            if (Interlocked.Add(ref consumed, records.Count) >= options.Records) drained.TrySetResult();
            return ValueTask.CompletedTask;
        }, stop.Token);
        await drained.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        var joinSeconds = clock.Elapsed.TotalSeconds - Stopwatch.GetElapsedTime(firstRecord).TotalSeconds;
        var consumeSeconds = Stopwatch.GetElapsedTime(firstRecord).TotalSeconds;
        await stop.CancelAsync().ConfigureAwait(false);
        await consumer.ConfigureAwait(false);

        var phase = new PhaseResult
        {
            System = "KafkaMessageLog",
            Phase = $"appends of {batch}, {options.Appenders} in flight",
            Clients = options.Appenders,
            Seconds = produceSeconds,
            Sent = options.Records,
            Acked = options.Records,
        };
        phase.Figures["records/s produced (acked)"] = Math.Round(options.Records / produceSeconds);
        phase.Figures["append p50 (ms)"] = Math.Round(appendLatency.PercentileMs(50), 2);
        phase.Figures["append p99 (ms)"] = Math.Round(appendLatency.PercentileMs(99), 2);
        phase.Figures["consumer start → first record (ms)"] = Math.Round(joinSeconds * 1000);
        phase.Figures["records/s consumed (one member, first → last record)"] = Math.Round(options.Records / consumeSeconds);
        foreach (var key in new[] { "CPU: Bench process (cores)", "CPU: other processes (cores)" })
            if (resources.TryGetValue(key, out var value)) phase.Figures[key] = value;
        return phase;
    }

    private static async Task<PhaseResult> LatencyAsync(KafkaMessageLog log, LogTopic<MessageAccepted> topic, KafkaBenchOptions options, JsonElement body,
        CancellationToken cancellationToken)
    {
        var toAck = new LatencyRecorder();
        var toConsumer = new LatencyRecorder();
        var total = (long)(options.Rate * options.Duration.TotalSeconds);
        long consumed = 0, failed = 0;
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var warm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The record carries its Stopwatch timestamp in ts: producer and consumer share this process's clock.
        var consumer = log.ConsumeAsync(topic, "bench.latency", (records, _) =>
        {
            var now = Stopwatch.GetTimestamp();
            var measured = 0;
            foreach (var record in records)
            {
                if (record.Id < 0)
                {
                    warm.TrySetResult();
                    continue;
                }
                toConsumer.Record(record.Ts, now);
                measured++;
            }
            if (Interlocked.Add(ref consumed, measured) >= total) drained.TrySetResult();
            return ValueTask.CompletedTask;
        }, stop.Token);

        // Warm up: the group join and the first metadata round trips are not part of the latency.
        await log.AppendAsync(topic, [Record(-1, body)], cancellationToken).ConfigureAwait(false);
        await warm.Task.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);

        var inFlight = new ConcurrentBag<Task>();
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (sent < total)
        {
            var due = Math.Min(total, (long)(clock.Elapsed.TotalSeconds * options.Rate) + 1);
            for (; sent < due; sent++)
            {
                var record = Record(sent, body);
                inFlight.Add(AppendOneAsync(log, topic, record, toAck, () => Interlocked.Increment(ref failed), cancellationToken));
            }
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
        var sendSeconds = clock.Elapsed.TotalSeconds;
        await Task.WhenAll(inFlight).ConfigureAwait(false);
        await drained.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await consumer.ConfigureAwait(false);

        var phase = new PhaseResult
        {
            System = "KafkaMessageLog",
            Phase = "produce→consume, one record per append",
            Pacing = $"open loop {options.Rate:N0}/s",
            Clients = 1,
            Seconds = sendSeconds,
            Sent = total,
            Acked = total - failed,
            Failed = failed,
            Delivered = Interlocked.Read(ref consumed),
            DeliveredPerSecond = Math.Round(Interlocked.Read(ref consumed) / sendSeconds),
            AckedPerSecond = Math.Round((total - failed) / sendSeconds),
            SendToAck = toAck.Summarize(),
            SendToDeliver = toConsumer.Summarize(),
        };
        return phase;
    }

    private static async Task AppendOneAsync(KafkaMessageLog log, LogTopic<MessageAccepted> topic, MessageAccepted record, LatencyRecorder toAck, Action failed,
        CancellationToken cancellationToken)
    {
        try
        {
            await log.AppendAsync(topic, [record], cancellationToken).ConfigureAwait(false);
            toAck.Record(record.Ts, Stopwatch.GetTimestamp());
        }
        catch (MessageLogException)
        {
            failed();
        }
    }

    /// <summary>
    /// One member of consumer group <paramref name="group"/> that appends <c>conv id</c> to <paramref name="journal"/> for
    /// every record it handles, taking <paramref name="perRecord"/> per record, until cancelled — the child process a
    /// chaos or kill -9 test can kill mid-batch.
    /// </summary>
    public static async Task RunMemberAsync(string bootstrap, string topicName, string group, string journal, TimeSpan perRecord, int partitions,
        CancellationToken cancellationToken)
    {
        var options = new KafkaLogOptions
        {
            BootstrapServers = bootstrap,
            Partitions = partitions,
            SessionTimeout = TimeSpan.FromSeconds(3),
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            RevocationGrace = TimeSpan.FromMilliseconds(300),
        };
        // What the member does (assignments, revocations, commit failures) goes to standard error for whoever watches it.
        using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ")
            .AddFilter("AspireChat", LogLevel.Information)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        using var log = new KafkaMessageLog(options, logging.CreateLogger<KafkaMessageLog>());
        using var writer = new StreamWriter(journal, append: true) { AutoFlush = true };
        var topic = new LogTopic<MessageAccepted>(topicName, m => m.Conv, MessagingJson.Default.MessageAccepted);
        try
        {
            await log.ConsumeAsync(topic, group, async (records, ct) =>
            {
                foreach (var record in records)
                {
                    if (perRecord > TimeSpan.Zero) await Task.Delay(perRecord, ct).ConfigureAwait(false);
                    // One journal for every partition's handler; a line is written whole, and before the handler returns.
                    lock (writer) writer.WriteLine($"{record.Conv} {record.Id}");
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
