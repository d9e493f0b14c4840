using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Log;

/// <summary>
/// One member of a consumer group on one topic. A dedicated thread owns the Kafka consumer (polling, rebalance
/// callbacks, commits, pause/resume); each assigned partition has one async worker that hands its records to the
/// handler in batches, in offset order, and reports each handled batch back to the thread, which commits it.
/// </summary>
/// <remarks>
/// At least once: an offset is committed only after the handler returned for every record before it. A revoked
/// partition's worker may finish its current batch within <see cref="KafkaLogOptions.RevocationGrace"/> (then that
/// batch is committed before the partition is given up), is cancelled after it, and is always stopped before the
/// rebalance callback returns — so the next owner never runs beside it, and nothing of that partition is handed out
/// or committed here afterwards. A lost partition (the member was dropped from the group) is not committed at all.
/// </remarks>
internal sealed partial class KafkaGroupMember<T>
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LagInterval = TimeSpan.FromSeconds(1);

    private readonly KafkaMessageLog _log;
    private readonly LogTopic<T> _topic;
    private readonly string _group;
    private readonly LogBatchHandler<T> _handler;
    private readonly LogPartitionsReleased _released;
    private readonly KafkaLogOptions _options;
    private readonly ILogger _logger;
    private readonly IConsumer<Ignore, byte[]> _consumer;
    // Owned by the consume thread: the partitions assigned now, and what is ready to commit for them.
    private readonly Dictionary<TopicPartition, PartitionWork> _partitions = [];
    private readonly Dictionary<PartitionWork, long> _toCommit = [];
    private readonly ConcurrentQueue<(PartitionWork Work, long Next)> _handled = new();
    private readonly KafkaLogMetrics.LagReading _lag;
    private readonly KafkaMemberStatus _status;
    private CancellationToken _stopping;

    public KafkaGroupMember(KafkaMessageLog log, LogTopic<T> topic, string group, LogBatchHandler<T> handler, LogPartitionsReleased released,
        KafkaMemberStatus status, ILogger logger)
    {
        (_log, _topic, _group, _handler, _released, _status, _options, _logger) = (log, topic, group, handler, released, status, log.Options, logger);
        var config = log.ConsumerConfig(group);
        _consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions, lost: false))
            .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions, lost: true))
            .SetErrorHandler((_, error) => KafkaMessageLog.LogClientError(_logger, $"consumer {group}", error.Code, error.Reason, error.IsFatal))
            .Build();
        _lag = KafkaLogMetrics.Register(topic.Name, group);
    }

    /// <summary>
    /// Set when the topic, checked at this member's first assignment, has another partition count than the log's: the
    /// consumer hands nothing of it out and its loop fails with this reason, which no restart can cure.
    /// </summary>
    public MessageLogException? TopicRefused { get; private set; }

    /// <summary>Consumes until <paramref name="cancellationToken"/> is cancelled, on a thread of its own; faults on a fatal consumer error.</summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        _stopping = cancellationToken;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run();
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = $"kafka {_topic.Name}/{_group}",
        };
        thread.Start();
        return done.Task;
    }

    private void Run()
    {
        try
        {
            _consumer.Subscribe(_topic.Name);
            var lagAt = Stopwatch.GetTimestamp();
            while (!_stopping.IsCancellationRequested)
            {
                if (TopicRefused is { } refused) throw refused;
                CommitHandled(revoking: null);
                ResumeDrained();
                if (Stopwatch.GetElapsedTime(lagAt) >= LagInterval)
                {
                    MeasureLag();
                    lagAt = Stopwatch.GetTimestamp();
                }
                try
                {
                    var result = _consumer.Consume(PollInterval);
                    // Take what is already fetched without waiting, so a burst is handed out in few batches.
                    for (var taken = 0; result is not null; taken++)
                    {
                        Buffer(result);
                        if (taken >= _options.MaxBatch) break;
                        result = _consumer.Consume(TimeSpan.Zero);
                    }
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    // e.g. the topic does not exist yet: librdkafka keeps trying; so do we, without spinning.
                    LogConsumeError(_logger, _topic.Name, _group, e.Error.Code, e.Error.Reason);
                    _stopping.WaitHandle.WaitOne(PollInterval);
                }
            }
        }
        finally
        {
            try
            {
                // Leaving the group revokes every partition through OnRevoked: handlers are cancelled (the token
                // is linked to the stop) and what they had finished is committed.
                _consumer.Close();
            }
            catch (KafkaException e)
            {
                LogCloseFailed(_logger, e, _topic.Name, _group);
            }
            finally
            {
                Release([.. _partitions.Values], lost: true);
                _consumer.Dispose();
                KafkaLogMetrics.Unregister(_lag);
            }
        }
    }

    private void Buffer(ConsumeResult<Ignore, byte[]> result)
    {
        // Fetched before a revocation and delivered after it: not ours to hand out.
        if (!_partitions.TryGetValue(result.TopicPartition, out var work)) return;
        if (work.Committed < 0) work.Committed = result.Offset.Value;
        work.Records.Writer.TryWrite(result);
        if (Interlocked.Increment(ref work.Buffered) >= _options.MaxBufferedPerPartition && !work.Paused)
        {
            // librdkafka drops what it had fetched for the partition and resumes from the position after the last record we took.
            _consumer.Pause([work.Partition]);
            work.Paused = true;
        }
    }

    private void ResumeDrained()
    {
        foreach (var work in _partitions.Values)
        {
            if (!work.Paused || Volatile.Read(ref work.Buffered) > _options.MaxBufferedPerPartition / 2) continue;
            _consumer.Resume([work.Partition]);
            work.Paused = false;
        }
    }

    private void OnAssigned(List<TopicPartition> partitions)
    {
        LogAssigned(_logger, _topic.Name, _group, string.Join(",", partitions.Select(p => p.Partition.Value)));
        if (!_log.IsTopicChecked(_topic.Name) && !CheckTopic()) return;
        foreach (var partition in partitions)
        {
            if (_partitions.Remove(partition, out var stale)) Release([stale], lost: true);
            var work = new PartitionWork(partition, CancellationTokenSource.CreateLinkedTokenSource(_stopping));
            _partitions[partition] = work;
            work.Worker = Task.Run(() => WorkAsync(work), CancellationToken.None);
        }
        _status.Holding(_partitions.Count);
    }

    /// <summary>
    /// The topic was not checked when the consumer subscribed (the broker did not answer, or the topic did not exist yet
    /// and could not be created): now that the group assigns its partitions it exists, and its partition count is checked
    /// before any of its records is handed out. False when nothing may be handed out: the topic is refused, or the member stops.
    /// </summary>
    private bool CheckTopic()
    {
        try
        {
            // Blocks the consume thread, inside the rebalance, for one metadata request at most; once per topic and process.
            _log.EnsureTopicAsync(_topic.Name, _stopping).GetAwaiter().GetResult();
            return true;
        }
        catch (MessageLogException e) when (e.InnerException is KafkaException)
        {
            // The broker did not answer this time either: the partitions are handled, and the next assignment checks again.
            LogTopicStillNotChecked(_logger, e, _topic.Name, _group);
            return true;
        }
        catch (MessageLogException e)
        {
            TopicRefused = e;
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void OnRevoked(List<TopicPartitionOffset> partitions, bool lost)
    {
        var works = new List<PartitionWork>(partitions.Count);
        foreach (var partition in partitions)
        {
            if (_partitions.TryGetValue(partition.TopicPartition, out var work)) works.Add(work);
        }
        if (works.Count == 0) return;
        LogRevoked(_logger, _topic.Name, _group, string.Join(",", works.Select(w => w.Partition.Partition.Value)), lost);
        Release(works, lost);
    }

    /// <summary>Stops the workers of <paramref name="works"/>, commits what they finished unless the partitions are lost, and forgets them.</summary>
    private void Release(List<PartitionWork> works, bool lost)
    {
        foreach (var work in works)
        {
            work.Revoked = true;
            work.Records.Writer.TryComplete();
        }
        // A lost partition has another owner already: its batch is cut short at once rather than finished.
        var running = works.Where(w => w.Worker is { IsCompleted: false }).Select(w => w.Worker!).ToArray();
        if (running.Length > 0 && !lost && !_stopping.IsCancellationRequested && !WaitQuietly(running, _options.RevocationGrace))
            LogGraceOver(_logger, _topic.Name, _group, _options.RevocationGrace);
        foreach (var work in works) work.Stop.Cancel();
        // The handler must have returned before the partition goes to its next owner (one writer per partition).
        while (running.Length > 0 && !WaitQuietly(running, TimeSpan.FromSeconds(10)))
            LogStillRunning(_logger, _topic.Name, _group);

        if (!lost) CommitHandled(revoking: [.. works]);
        foreach (var work in works)
        {
            if (_partitions.TryGetValue(work.Partition, out var current) && ReferenceEquals(current, work)) _partitions.Remove(work.Partition);
            _toCommit.Remove(work);
            work.Stop.Dispose();
        }
        _status.Holding(_partitions.Count);
        // Only now, with every handler of these partitions returned, may the consumer drop what it cached as their writer.
        try
        {
            _released([.. works.Select(w => w.Partition.Partition.Value)], lost);
        }
        catch (Exception e)
        {
            LogReleasedFailed(_logger, e, _topic.Name, _group);
        }
    }

    private static bool WaitQuietly(Task[] tasks, TimeSpan timeout)
    {
        try
        {
            return Task.WaitAll(tasks, timeout);
        }
        catch (AggregateException)
        {
            return true; // the workers' failures are logged where they happen
        }
    }

    /// <summary>Commits the handled batches of partitions still owned; <paramref name="revoking"/> are being given up and may commit one last time.</summary>
    private void CommitHandled(HashSet<PartitionWork>? revoking)
    {
        while (_handled.TryDequeue(out var handled))
        {
            if (!_toCommit.TryGetValue(handled.Work, out var next) || handled.Next > next) _toCommit[handled.Work] = handled.Next;
        }
        var offsets = new List<TopicPartitionOffset>(_toCommit.Count);
        foreach (var (work, next) in _toCommit)
        {
            var owned = _partitions.TryGetValue(work.Partition, out var current) && ReferenceEquals(current, work);
            if (owned && (!work.Revoked || revoking?.Contains(work) == true)) offsets.Add(new TopicPartitionOffset(work.Partition, next));
        }
        if (offsets.Count == 0) return;
        try
        {
            _consumer.Commit(offsets);
            foreach (var offset in offsets)
            {
                var work = _partitions[offset.TopicPartition];
                work.Committed = offset.Offset.Value;
                _toCommit.Remove(work);
            }
        }
        catch (KafkaException e)
        {
            // Kept in _toCommit and tried again on the next round while the partition is still ours.
            LogCommitFailed(_logger, _topic.Name, _group, e.Error.Code, e.Error.Reason);
        }
    }

    private void MeasureLag()
    {
        long lag = 0;
        foreach (var work in _partitions.Values)
        {
            if (work.Committed < 0) continue;
            var high = _consumer.GetWatermarkOffsets(work.Partition).High;
            if (high != Offset.Unset) lag += Math.Max(0, high.Value - work.Committed);
        }
        Volatile.Write(ref _lag.Lag, lag);
    }

    private async Task WorkAsync(PartitionWork work)
    {
        var token = work.Stop.Token;
        var batch = new List<ConsumeResult<Ignore, byte[]>>(_options.MaxBatch);
        try
        {
            while (await work.Records.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                if (work.Revoked) return;
                batch.Clear();
                while (batch.Count < _options.MaxBatch && work.Records.Reader.TryRead(out var record)) batch.Add(record);
                Interlocked.Add(ref work.Buffered, -batch.Count);
                await HandleAsync(work, batch, token).ConfigureAwait(false);
                _handled.Enqueue((work, batch[^1].Offset.Value + 1));
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Stopped or revoked mid-batch: the batch is not committed, so it is redelivered.
        }
    }

    /// <summary>Hands one batch to the handler until it returns; a failure is retried with backoff, never skipped.</summary>
    private async Task HandleAsync(PartitionWork work, List<ConsumeResult<Ignore, byte[]>> batch, CancellationToken token)
    {
        T[]? records = null;
        var backoff = _options.RetryBackoff;
        var failing = false;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                using var activity = StartBatchActivity(work, batch, attempt);
                try
                {
                    records ??= Deserialize(batch);
                    await _handler(records, token).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, e.Message);
                    LogHandlerFailed(_logger, e, _topic.Name, work.Partition.Partition.Value, batch[0].Offset.Value, attempt);
                    // The health check reports a partition whose handler keeps failing (degraded: the batch is retried).
                    if (!failing) _status.HandlerFailing(work.Partition.Partition.Value);
                    failing = true;
                }
                await Task.Delay(backoff, token).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetryBackoff.Ticks));
            }
        }
        finally
        {
            if (failing) _status.HandlerRecovered(work.Partition.Partition.Value);
        }
    }

    private T[] Deserialize(List<ConsumeResult<Ignore, byte[]>> batch)
    {
        var records = new T[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = JsonSerializer.Deserialize(batch[i].Message.Value, _topic.Json)
                ?? throw new JsonException($"{_topic.Name} offset {batch[i].TopicPartitionOffset} holds null");
            // The handler continues each record's trace from its produce span.
            if (_topic.WithTrace is { } withTrace && KafkaMessageLog.ExtractTraceContext(batch[i].Message.Headers) is var trace && trace != default)
                record = withTrace(record, trace);
            records[i] = record;
        }
        return records;
    }

    /// <summary>The batch's span: a root of its own, linked to the trace of every record in it (OpenTelemetry messaging conventions).</summary>
    private Activity? StartBatchActivity(PartitionWork work, List<ConsumeResult<Ignore, byte[]>> batch, int attempt)
    {
        if (!ChatTelemetry.Source.HasListeners()) return null;
        var links = new List<ActivityLink>();
        var seen = new HashSet<ActivityContext>();
        foreach (var record in batch)
        {
            var context = KafkaMessageLog.ExtractTraceContext(record.Message.Headers);
            if (context != default && seen.Add(context)) links.Add(new ActivityLink(context));
        }
        var activity = ChatTelemetry.Source.StartActivity($"process {_topic.Name}", ActivityKind.Consumer, parentContext: default, links: links);
        if (activity is null) return null;
        activity.SetTag("messaging.system", "kafka");
        activity.SetTag("messaging.operation.type", "process");
        activity.SetTag("messaging.destination.name", _topic.Name);
        activity.SetTag("messaging.consumer.group.name", _group);
        activity.SetTag("messaging.destination.partition.id", work.Partition.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        activity.SetTag("messaging.batch.message_count", batch.Count);
        if (attempt > 1) activity.SetTag("attempt", attempt);
        return activity;
    }

    /// <summary>An assigned partition: the records fetched and not yet handed out, and the worker handing them out.</summary>
    private sealed class PartitionWork(TopicPartition partition, CancellationTokenSource stop)
    {
        public TopicPartition Partition { get; } = partition;
        public Channel<ConsumeResult<Ignore, byte[]>> Records { get; } =
            Channel.CreateUnbounded<ConsumeResult<Ignore, byte[]>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        public CancellationTokenSource Stop { get; } = stop;
        public Task? Worker { get; set; }
        public int Buffered;
        public volatile bool Revoked;
        // Consume thread only: fetching paused for back-pressure; the committed position (−1 = not known yet).
        public bool Paused;
        public long Committed = -1;
    }
}
