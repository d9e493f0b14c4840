using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace AspireChat.Messaging.Log;

/// <summary>
/// The message log on Kafka (decision 0009, docs/data-model.md): an idempotent producer with <c>acks=all</c>, so an append completes
/// only when every record is replicated; one consumer-group member per <see cref="ConsumeAsync{T}"/>, committing a
/// batch's offsets only after its handler returned. Records carry the W3C trace context in a <c>traceparent</c> header.
/// </summary>
/// <remarks>
/// Nothing here fails silently (decision 0018): a producer that hits a fatal error is rebuilt, and the host stopped when
/// no new one can be built; a consumer whose loop faults is rebuilt, and after <see cref="KafkaLogOptions.ConsumerRestarts"/>
/// faults in a row <c>ConsumeAsync</c> fails so its host stops; a topic is used only once it exists with
/// <see cref="KafkaLogOptions.Partitions"/> partitions, and a failed check is never remembered. <see cref="Producer"/> and
/// <see cref="Members"/> say where each client stands; the health check reports them.
/// </remarks>
public sealed partial class KafkaMessageLog : IMessageLog, IDisposable
{
    /// <summary>The header that carries the producer's trace context (W3C Trace Context).</summary>
    public const string TraceParentHeader = "traceparent";

    private readonly KafkaLogOptions _options;
    private readonly ILogger<KafkaMessageLog> _logger;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly Func<ProducerBuilder<byte[], byte[]>, IProducer<byte[], byte[]>> _buildProducer;
    private readonly Lock _producerGate = new();
    private IProducer<byte[], byte[]> _producer;
    private string? _producerFatal;
    private int _producerRebuilds;
    private readonly Lazy<IAdminClient> _admin;
    private readonly ConcurrentDictionary<string, Lazy<Task>> _topics = new();
    private readonly ConcurrentDictionary<KafkaMemberStatus, string> _members = new();
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    /// <param name="options">The log's settings.</param>
    /// <param name="logger">Where the log and librdkafka report.</param>
    /// <param name="time">The clock of the backoffs before a faulted consumer or producer is rebuilt.</param>
    /// <param name="lifetime">The host to stop when a producer that hit a fatal error cannot be rebuilt; none: only logged.</param>
    public KafkaMessageLog(KafkaLogOptions options, ILogger<KafkaMessageLog> logger, TimeProvider? time = null, IHostApplicationLifetime? lifetime = null)
        : this(options, logger, time, lifetime, static builder => builder.Build())
    {
    }

    /// <param name="buildProducer">Builds each producer from its builder: tests make a rebuild fail here.</param>
    internal KafkaMessageLog(KafkaLogOptions options, ILogger<KafkaMessageLog> logger, TimeProvider? time, IHostApplicationLifetime? lifetime,
        Func<ProducerBuilder<byte[], byte[]>, IProducer<byte[], byte[]>> buildProducer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.BootstrapServers);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1);
        (_options, _logger, _time, _lifetime, _buildProducer) = (options, logger, time ?? TimeProvider.System, lifetime, buildProducer);
        _producer = BuildProducer();
        // A client of its own, not the producer's handle: the producer may be rebuilt under it.
        _admin = new Lazy<IAdminClient>(() => new AdminClientBuilder(ClientConfig())
            .SetLogHandler((_, message) => LogClient(message))
            .SetErrorHandler((_, error) => LogClientError(_logger, "admin", error.Code, error.Reason, error.IsFatal))
            .Build());
    }

    private IProducer<byte[], byte[]> BuildProducer() => _buildProducer(
        new ProducerBuilder<byte[], byte[]>(ProducerConfig())
            .SetLogHandler((_, message) => LogClient(message))
            .SetErrorHandler(OnProducerError));

    /// <summary>The producer's settings: idempotent, <c>acks=all</c>, no topic auto-creation; <see cref="KafkaLogOptions.Settings"/> over them.</summary>
    internal ProducerConfig ProducerConfig()
    {
        var config = new ProducerConfig
        {
            BootstrapServers = _options.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = (int)_options.MessageTimeout.TotalMilliseconds,
            LingerMs = _options.Linger.TotalMilliseconds,
            // The Java client's partitioner, so records of one key land where Kafka Streams or Connect would put them.
            Partitioner = Confluent.Kafka.Partitioner.Murmur2Random,
            // The delivery handler needs only the outcome; key and value stay on the native side.
            DeliveryReportFields = "status",
            // A topic is created by EnsureTopicAsync with the log's partitions, never by a produce with the broker's.
            AllowAutoCreateTopics = false,
        };
        return ApplySettings(config);
    }

    /// <summary>
    /// A group member's settings: the classic group protocol, manual commits, the cooperative-sticky assignor, no topic
    /// auto-creation; <see cref="KafkaLogOptions.Settings"/> over them.
    /// </summary>
    internal ConsumerConfig ConsumerConfig(string group) => ApplySettings(new ConsumerConfig
    {
        BootstrapServers = _options.BootstrapServers,
        GroupId = group,
        // Said, not assumed: under the "consumer" protocol (KIP-848, librdkafka's announced next default) the broker
        // assigns partitions and librdkafka refuses session.timeout.ms, heartbeat.interval.ms and the assignor below.
        GroupProtocol = GroupProtocol.Classic,
        // A consumer never creates a topic with the broker's partition count; the log creates them (EnsureTopicAsync).
        AllowAutoCreateTopics = false,
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
        HeartbeatIntervalMs = (int)_options.HeartbeatInterval.TotalMilliseconds,
        FetchWaitMaxMs = (int)_options.FetchWait.TotalMilliseconds,
        EnablePartitionEof = false,
    });

    /// <summary>The producer: working, or fatal until it is rebuilt, and how often it was rebuilt.</summary>
    public KafkaProducerState Producer
    {
        get
        {
            lock (_producerGate) return new KafkaProducerState(_producerFatal, _producerRebuilds);
        }
    }

    /// <summary>The consumer-group members running now (one per <see cref="ConsumeAsync{T}"/> call).</summary>
    public IReadOnlyList<KafkaMemberState> Members => [.. _members.Keys.Select(m => m.Snapshot()).OrderBy(m => m.Topic, StringComparer.Ordinal).ThenBy(m => m.Group, StringComparer.Ordinal)];

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
            IProducer<byte[], byte[]> producer;
            lock (_producerGate)
            {
                if (_producerFatal is { } fatal)
                    throw new MessageLogException($"the Kafka producer hit a fatal error and is being rebuilt ({fatal}); {topic} took no record");
                producer = _producer;
            }
            try
            {
                producer.Produce(topic, message, append.OnDelivered);
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
            catch (ObjectDisposedException e)
            {
                // A fatal producer replaced (or the log disposed) while this record was handed to it.
                throw new MessageLogException($"the Kafka producer was replaced while a record of {topic} was handed to it", e);
            }
        }
    }

    // Runs on the producer's poll thread; the rebuild runs elsewhere (a producer cannot be disposed from its own callback).
    private void OnProducerError(IProducer<byte[], byte[]> producer, Error error)
    {
        LogClientError(_logger, "producer", error.Code, error.Reason, error.IsFatal);
        if (!error.IsFatal) return;
        lock (_producerGate)
        {
            if (!ReferenceEquals(producer, _producer) || _producerFatal is not null || _disposed != 0) return;
            _producerFatal = $"{error.Reason} ({error.Code})";
        }
        _ = RebuildProducerAsync(producer);
    }

    /// <summary>
    /// Replaces a producer that hit a fatal error (librdkafka's idempotent producer cannot go on once it lost track of its
    /// sequence numbers): after <see cref="KafkaLogOptions.RetryBackoff"/>, a new producer (a new producer id) takes the
    /// appends; the old one reports what it still held as failed, and goes. Appends in between fail at once, so senders
    /// hear <c>unavailable</c> and retry. A new producer that cannot be built is tried again after the backoff doubled;
    /// after <see cref="KafkaLogOptions.ProducerRebuildAttempts"/> failures in a row the host is stopped, as a consumer
    /// that keeps faulting stops it: a process that cannot append must not run on answering every send <c>unavailable</c>.
    /// </summary>
    private async Task RebuildProducerAsync(IProducer<byte[], byte[]> fatal)
    {
        var backoff = _options.RetryBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Task.Delay(backoff, _time, _disposing.Token).ConfigureAwait(false);
                var fresh = BuildProducer();
                string? reason;
                lock (_producerGate)
                {
                    if (_disposed != 0)
                    {
                        fresh.Dispose();
                        return;
                    }
                    (_producer, reason, _producerFatal) = (fresh, _producerFatal, null);
                    _producerRebuilds++;
                }
                LogProducerRebuilt(_logger, reason ?? "");
                break;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (attempt < _options.ProducerRebuildAttempts)
            {
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetryBackoff.Ticks));
                LogProducerRebuildFailed(_logger, e, attempt, backoff);
            }
            catch (Exception e)
            {
                // The log stays fatal (its health says so) until the host, stopping, disposes it.
                LogProducerGaveUp(_logger, e, attempt);
                _lifetime?.StopApplication();
                return;
            }
        }
        await Task.Run(() =>
        {
            fatal.Flush(TimeSpan.FromSeconds(5));
            fatal.Dispose();
        }).ConfigureAwait(false);
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
        catch (MessageLogException e) when (e.InnerException is KafkaException)
        {
            // A consumer can wait for the broker (and the topic) to appear; an append cannot. A topic found wrong is refused,
            // here or, when it could not be checked here, at the member's first assignment (KafkaGroupMember.CheckTopic).
            LogTopicNotChecked(_logger, e, topic.Name);
        }
        var status = new KafkaMemberStatus(topic.Name, group);
        _members[status] = group;
        try
        {
            await SuperviseAsync(topic, group, handler, released, status, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _members.TryRemove(status, out _);
        }
    }

    /// <summary>
    /// Runs a group member until <paramref name="cancellationToken"/> is cancelled; a member whose consumer faults (a fatal
    /// client error, an exception out of its loop) is replaced by a new one after a backoff. Past
    /// <see cref="KafkaLogOptions.ConsumerRestarts"/> faults in a row (a member that got partitions starts the count again)
    /// this fails, so that the host stops rather than run without its consumer. A member that found its topic with another
    /// partition count fails at once: a new consumer would find the same topic.
    /// </summary>
    private async Task SuperviseAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, LogPartitionsReleased released, KafkaMemberStatus status,
        CancellationToken cancellationToken)
    {
        var backoff = _options.RetryBackoff;
        var faults = 0;
        while (true)
        {
            status.Starting();
            var member = new KafkaGroupMember<T>(this, topic, group, handler, released, status, _logger);
            try
            {
                await member.RunAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && member.TopicRefused is null)
            {
                faults = status.WasAssigned ? 1 : faults + 1;
                if (faults > _options.ConsumerRestarts)
                {
                    status.Faulted(e);
                    LogConsumerGaveUp(_logger, e, topic.Name, group, faults);
                    throw new MessageLogException($"the Kafka consumer of {topic.Name}/{group} faulted {faults} times in a row: {e.Message}", e);
                }
                LogConsumerFaulted(_logger, e, topic.Name, group, faults, backoff);
                // The pause starts before the fault is visible, so whoever sees the fault sees the pause running.
                var pause = Task.Delay(backoff, _time, cancellationToken);
                status.Faulted(e);
                try
                {
                    await pause.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetryBackoff.Ticks));
            }
        }
    }

    /// <summary>Whether <paramref name="name"/> was found (or created) with <see cref="KafkaLogOptions.Partitions"/> partitions.</summary>
    internal bool IsTopicChecked(string name) => _topics.TryGetValue(name, out var ensure) && ensure.IsValueCreated && ensure.Value.IsCompletedSuccessfully;

    /// <summary>The cluster's metadata (brokers and topics), asked with <paramref name="timeout"/>; blocks the calling thread.</summary>
    public Metadata GetMetadata(TimeSpan timeout) => _admin.Value.GetMetadata(timeout);

    /// <summary>
    /// Makes sure the topic exists with <see cref="KafkaLogOptions.Partitions"/> partitions: a missing one is created (with
    /// <see cref="ReplicationFactorFor"/> replicas, <c>min.insync.replicas=2</c> at three or more, and
    /// <see cref="KafkaLogOptions.Retention"/>); one with another partition count is refused, since which partition a key
    /// lands in — and so each stage's order and parallelism — depends on it. Only a topic found right is remembered; a
    /// failed check or creation throws <see cref="MessageLogException"/> and the next call asks the cluster again.
    /// </summary>
    public Task EnsureTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        var ensure = _topics.GetOrAdd(name, n => new Lazy<Task>(() => CheckTopicAsync(n)));
        var task = ensure.Value;
        if (task.IsCompletedSuccessfully) return Task.CompletedTask;
        // Forgotten when it fails, whoever awaits it.
        _ = task.ContinueWith(_ => _topics.TryRemove(new KeyValuePair<string, Lazy<Task>>(name, ensure)), CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task.WaitAsync(cancellationToken);
    }

    private async Task CheckTopicAsync(string name)
    {
        var metadata = await MetadataAsync(name).ConfigureAwait(false);
        if (metadata.Topics.FirstOrDefault(t => t.Topic == name && t.Error.Code == ErrorCode.NoError) is { } existing)
        {
            RequirePartitions(existing);
            return;
        }
        var specification = TopicSpecificationFor(name, metadata.Brokers.Count);
        var replication = specification.ReplicationFactor;
        try
        {
            await _admin.Value.CreateTopicsAsync([specification],
                new CreateTopicsOptions { RequestTimeout = _options.MessageTimeout, OperationTimeout = _options.MessageTimeout }).ConfigureAwait(false);
            LogTopicCreated(_logger, name, _options.Partitions, replication);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // Another process created it first: it must have the partitions this log counts on.
            var again = await MetadataAsync(name).ConfigureAwait(false);
            if (again.Topics.FirstOrDefault(t => t.Topic == name && t.Error.Code == ErrorCode.NoError) is { } created) RequirePartitions(created);
        }
        catch (KafkaException e)
        {
            var reason = e is CreateTopicsException c && c.Results.FirstOrDefault(r => r.Error.IsError) is { } result ? result.Error : e.Error;
            throw new MessageLogException(
                $"Kafka at {_options.BootstrapServers} did not create topic {name} ({_options.Partitions} partitions, replication factor {replication}): " +
                $"{reason.Reason} ({reason.Code}). Create it with {_options.Partitions} partitions, or set Kafka:ReplicationFactor to what the cluster can hold.", e);
        }
    }

    private async Task<Metadata> MetadataAsync(string topic)
    {
        try
        {
            // A metadata request for all topics never auto-creates one (a request for one topic may, with the broker's partition count).
            return await Task.Run(() => GetMetadata(_options.MessageTimeout)).ConfigureAwait(false);
        }
        catch (KafkaException e)
        {
            throw new MessageLogException($"Kafka at {_options.BootstrapServers} did not answer a metadata request for topic {topic}: {e.Error.Reason}", e);
        }
    }

    private void RequirePartitions(TopicMetadata topic)
    {
        if (topic.Partitions.Count == _options.Partitions) return;
        throw new MessageLogException(
            $"Kafka topic {topic.Topic} has {topic.Partitions.Count} partition(s), but Kafka:Partitions is {_options.Partitions}: the log refuses it, " +
            $"because the partition a key lands in (and with it each stage's order and parallelism) depends on the count. Set Kafka:Partitions to " +
            $"{topic.Partitions.Count} if that count is intended, or recreate the topic with {_options.Partitions} partitions.");
    }

    /// <summary>
    /// The topic the log creates on a cluster of <paramref name="brokers"/>: <see cref="KafkaLogOptions.Partitions"/>
    /// partitions, <see cref="ReplicationFactorFor"/> replicas, <c>min.insync.replicas=2</c> at three replicas or more (an
    /// <c>acks=all</c> append is then on two brokers, and one broker may fail without stopping appends), and
    /// <c>retention.ms</c> from <see cref="KafkaLogOptions.Retention"/>.
    /// </summary>
    internal TopicSpecification TopicSpecificationFor(string name, int brokers)
    {
        var replication = ReplicationFactorFor(brokers);
        var configs = new Dictionary<string, string> { ["retention.ms"] = ((long)_options.Retention.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) };
        if (replication >= 3) configs["min.insync.replicas"] = "2";
        return new TopicSpecification { Name = name, NumPartitions = _options.Partitions, ReplicationFactor = replication, Configs = configs };
    }

    /// <summary><see cref="KafkaLogOptions.ReplicationFactor"/>, or min(3, <paramref name="brokers"/>) when it is unset.</summary>
    public short ReplicationFactorFor(int brokers) => _options.ReplicationFactor ?? (short)Math.Clamp(brokers, 1, 3);

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
        IProducer<byte[], byte[]> producer;
        lock (_producerGate)
        {
            if (_disposed != 0) return;
            _disposed = 1;
            producer = _producer;
        }
        _disposing.Cancel();
        // Records still queued get their delivery reports (or a failure) before the handle goes.
        producer.Flush(TimeSpan.FromSeconds(5));
        if (_admin.IsValueCreated) _admin.Value.Dispose();
        producer.Dispose();
        _disposing.Dispose();
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Kafka topic {Topic} with {Partitions} partitions and replication factor {Replication}")]
    private static partial void LogTopicCreated(ILogger logger, string topic, int partitions, short replication);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Kafka producer was rebuilt after a fatal error: {Reason}")]
    private static partial void LogProducerRebuilt(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A new Kafka producer could not be built (attempt {Attempt}); trying again in {Backoff}")]
    private static partial void LogProducerRebuildFailed(ILogger logger, Exception exception, int attempt, TimeSpan backoff);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The Kafka producer hit a fatal error and {Attempts} new producers in a row could not be built; stopping the host, since no append can succeed")]
    private static partial void LogProducerGaveUp(ILogger logger, Exception exception, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kafka {Topic}/{Group}: the consumer faulted (fault {Faults} in a row); a new one joins the group in {Backoff}")]
    private static partial void LogConsumerFaulted(ILogger logger, Exception exception, string topic, string group, int faults, TimeSpan backoff);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Kafka {Topic}/{Group}: the consumer faulted {Faults} times in a row; giving up")]
    private static partial void LogConsumerGaveUp(ILogger logger, Exception exception, string topic, string group, int faults);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka topic {Topic} could not be checked; the consumer subscribes, waits for it, and checks it when the group assigns its partitions")]
    private static partial void LogTopicNotChecked(ILogger logger, Exception exception, string topic);
}
