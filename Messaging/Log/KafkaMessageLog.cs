using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace AspireChat.Messaging.Log;

/// <summary>
/// The message log on Kafka (decision 0009, docs/data-model.md): an idempotent producer with <c>acks=all</c>, so an append completes
/// only when every record is replicated; one consumer-group member per <see cref="ConsumeAsync{T}"/>, committing a
/// batch's offsets only after its handler returned. Records carry the W3C trace context in a <c>traceparent</c> header.
/// </summary>
public sealed partial class KafkaMessageLog : IMessageLog, IDisposable
{
    /// <summary>The header that carries the producer's trace context (W3C Trace Context).</summary>
    public const string TraceParentHeader = "traceparent";

    private readonly KafkaLogOptions _options;
    private readonly ILogger<KafkaMessageLog> _logger;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly Lazy<IAdminClient> _admin;
    private readonly ConcurrentDictionary<string, Lazy<Task>> _topics = new();
    private int _disposed;

    public KafkaMessageLog(KafkaLogOptions options, ILogger<KafkaMessageLog> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.BootstrapServers);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1);
        (_options, _logger) = (options, logger);
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = (int)options.MessageTimeout.TotalMilliseconds,
            LingerMs = options.Linger.TotalMilliseconds,
            // The Java client's partitioner, so records of one key land where Kafka Streams or Connect would put them.
            Partitioner = Confluent.Kafka.Partitioner.Murmur2Random,
            // The delivery handler needs only the outcome; key and value stay on the native side.
            DeliveryReportFields = "status",
        };
        ApplySettings(config);
        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetLogHandler((_, message) => LogClient(message))
            .SetErrorHandler((_, error) => LogClientError(_logger, "producer", error.Code, error.Reason, error.IsFatal))
            .Build();
        _admin = new Lazy<IAdminClient>(() => new DependentAdminClientBuilder(_producer.Handle).Build());
    }

    /// <summary>Bootstrap servers, partition count and the rest of the settings this log was built with.</summary>
    public KafkaLogOptions Options => _options;

    /// <summary>The connection settings every client of this log shares: bootstrap servers and <see cref="KafkaLogOptions.Settings"/>.</summary>
    public ClientConfig ClientConfig() => ApplySettings(new ClientConfig { BootstrapServers = _options.BootstrapServers });

    /// <summary>Puts <see cref="KafkaLogOptions.Settings"/> over <paramref name="config"/>: what the configuration names wins over this log's defaults.</summary>
    internal T ApplySettings<T>(T config) where T : ClientConfig
    {
        foreach (var (key, value) in _options.Settings) config.Set(key, value);
        return config;
    }

    public async ValueTask AppendAsync<T>(LogTopic<T> topic, IReadOnlyList<T> records, CancellationToken cancellationToken = default)
    {
        if (records.Count == 0) return;
        await EnsureTopicAsync(topic.Name, cancellationToken).ConfigureAwait(false);

        // Each record's header carries its own produce span (in its message's trace), or the batch's when it has none.
        using var spans = LogSpans.StartAppend("kafka", topic, records);
        var activity = spans.Batch;

        var started = Stopwatch.GetTimestamp();
        var append = new PendingAppend(topic.Name, records.Count);
        var outcome = "acked";
        try
        {
            for (var i = 0; i < records.Count; i++)
            {
                var record = records[i];
                var message = new Message<byte[], byte[]>
                {
                    Key = Encoding.UTF8.GetBytes(topic.KeyOf(record)),
                    Value = JsonSerializer.SerializeToUtf8Bytes(record, topic.Json),
                };
                var context = spans.TraceOf(i);
                if (InjectTraceContext(context != default ? context : activity?.Context ?? default) is { } trace)
                {
                    message.Headers = new Headers();
                    foreach (var (key, value) in trace) message.Headers.Add(key, value);
                }
                await ProduceOneAsync(topic.Name, message, append, cancellationToken).ConfigureAwait(false);
            }
            await append.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            outcome = e is OperationCanceledException ? "cancelled" : "failed";
            spans.Failed(e);
            append.Abandon();
            throw;
        }
        finally
        {
            KafkaLogMetrics.ProduceDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                new KeyValuePair<string, object?>("messaging.destination.name", topic.Name), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private async ValueTask ProduceOneAsync(string topic, Message<byte[], byte[]> message, PendingAppend append, CancellationToken cancellationToken)
    {
        long fullSince = 0;
        while (true)
        {
            try
            {
                _producer.Produce(topic, message, append.OnDelivered);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                // The local queue drains as the broker acknowledges; waiting here is the producer's back-pressure.
                if (fullSince == 0) fullSince = Stopwatch.GetTimestamp();
                else if (Stopwatch.GetElapsedTime(fullSince) > _options.MessageTimeout)
                    throw new MessageLogException($"the Kafka producer queue stayed full for {_options.MessageTimeout}", e);
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
            catch (ProduceException<byte[], byte[]> e)
            {
                throw new MessageLogException($"Kafka refused a record of {topic}: {e.Error.Reason} ({e.Error.Code})", e);
            }
            catch (KafkaException e)
            {
                throw new MessageLogException($"the Kafka producer failed on {topic}: {e.Error.Reason} ({e.Error.Code})", e);
            }
        }
    }

    public Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, CancellationToken cancellationToken) =>
        ConsumeAsync(topic, group, handler, static (_, _) => { }, cancellationToken);

    public async Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, LogPartitionsReleased released, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureTopicAsync(topic.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (MessageLogException e)
        {
            // A consumer can wait for the broker (and the topic) to appear; an append cannot.
            LogTopicNotChecked(_logger, e, topic.Name);
        }
        var member = new KafkaGroupMember<T>(this, topic, group, handler, released, _logger);
        await member.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The cluster's metadata (brokers and topics), asked with <paramref name="timeout"/>; blocks the calling thread.</summary>
    public Metadata GetMetadata(TimeSpan timeout) => _admin.Value.GetMetadata(timeout);

    /// <summary>
    /// Creates the topic with <see cref="KafkaLogOptions.Partitions"/> partitions when the cluster has none of that name,
    /// once per topic and log. A cluster whose admin API refuses (librdkafka's mock cluster) is tolerated: its topics
    /// are created beside it.
    /// </summary>
    public Task EnsureTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        var ensure = _topics.GetOrAdd(name, n => new Lazy<Task>(() => CreateTopicIfMissingAsync(n))).Value;
        return ensure.IsCompletedSuccessfully ? Task.CompletedTask : ensure.WaitAsync(cancellationToken);
    }

    private async Task CreateTopicIfMissingAsync(string name)
    {
        try
        {
            // A metadata request for all topics never auto-creates one (a request for one topic may, with the broker's partition count).
            var metadata = await Task.Run(() => GetMetadata(_options.MessageTimeout)).ConfigureAwait(false);
            if (metadata.Topics.Any(t => t.Topic == name && t.Error.Code == ErrorCode.NoError)) return;
            try
            {
                await _admin.Value.CreateTopicsAsync(
                    [new TopicSpecification { Name = name, NumPartitions = _options.Partitions, ReplicationFactor = _options.ReplicationFactor }],
                    new CreateTopicsOptions { RequestTimeout = _options.MessageTimeout, OperationTimeout = _options.MessageTimeout }).ConfigureAwait(false);
                LogTopicCreated(_logger, name, _options.Partitions);
            }
            catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
            {
                // Another process created it first.
            }
            catch (KafkaException e)
            {
                LogTopicNotCreated(_logger, e, name);
            }
        }
        catch (KafkaException e)
        {
            // Not cached: the next append asks again.
            _topics.TryRemove(name, out _);
            throw new MessageLogException($"Kafka at {_options.BootstrapServers} did not answer a metadata request for topic {name}: {e.Error.Reason}", e);
        }
    }

    internal static List<(string Key, byte[] Value)>? InjectTraceContext(ActivityContext context)
    {
        if (context == default) return null;
        var carrier = new List<(string Key, byte[] Value)>(2);
        Propagators.DefaultTextMapPropagator.Inject(new PropagationContext(context, Baggage.Current), carrier,
            static (c, key, value) => c.Add((key, Encoding.UTF8.GetBytes(value))));
        return carrier.Count == 0 ? null : carrier;
    }

    internal static ActivityContext ExtractTraceContext(Headers? headers)
    {
        if (headers is null || headers.Count == 0) return default;
        return Propagators.DefaultTextMapPropagator.Extract(default, headers,
            static (h, key) => h.TryGetLastBytes(key, out var value) ? [Encoding.UTF8.GetString(value)] : []).ActivityContext;
    }

    private void LogClient(LogMessage message)
    {
        var level = (LogLevel)message.LevelAs(LogLevelType.MicrosoftExtensionsLogging);
        if (_logger.IsEnabled(level)) LogLibrdkafka(_logger, level, message.Name, message.Facility, message.Message);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Records still queued get their delivery reports (or a failure) before the handle goes.
        _producer.Flush(TimeSpan.FromSeconds(5));
        if (_admin.IsValueCreated) _admin.Value.Dispose();
        _producer.Dispose();
    }

    /// <summary>The delivery reports of one append: done when every record is acknowledged, failed at the first that is not.</summary>
    private sealed class PendingAppend(string topic, int records)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = records;

        public Task Task => _done.Task;

        // Runs on the producer's poll thread.
        public void OnDelivered(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError)
                _done.TrySetException(new MessageLogException($"Kafka did not acknowledge a record of {topic}: {report.Error.Reason} ({report.Error.Code})", new KafkaException(report.Error)));
            else if (report.Status != PersistenceStatus.Persisted)
                _done.TrySetException(new MessageLogException($"a record of {topic} was not persisted (status {report.Status})"));
            else if (Interlocked.Decrement(ref _remaining) == 0)
                _done.TrySetResult();
        }

        /// <summary>The caller has given up on this append: a failure reported later is observed here, not left unobserved.</summary>
        public void Abandon() => _done.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(Message = "librdkafka {Client} [{Facility}]: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Client} error {Code}: {Reason} (fatal: {Fatal})")]
    internal static partial void LogClientError(ILogger logger, string client, ErrorCode code, string reason, bool fatal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Kafka topic {Topic} with {Partitions} partitions")]
    private static partial void LogTopicCreated(ILogger logger, string topic, int partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka topic {Topic} is missing and could not be created here; producing to it relies on the cluster creating it")]
    private static partial void LogTopicNotCreated(ILogger logger, Exception exception, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka topic {Topic} could not be checked; the consumer subscribes and waits for it")]
    private static partial void LogTopicNotChecked(ILogger logger, Exception exception, string topic);
}
