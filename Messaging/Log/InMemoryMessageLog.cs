using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Log;

/// <summary>
/// The message log of one process, in memory: partitioned by key like Kafka, consumed per partition in order,
/// with each consumer group's position kept until the process ends. Nothing survives a restart, so the embedded
/// composition uses it only where losing records is allowed: <c>chat.push</c> (push is best effort, decision 0007).
/// Records every known group has consumed are dropped.
/// </summary>
public sealed partial class InMemoryMessageLog(ILogger<InMemoryMessageLog> logger, int partitions = 8, int maxBatch = 512) : IMessageLog
{
    private sealed class Partition
    {
        public readonly List<object> Records = [];
        public long Trimmed; // offset of Records[0]
        public readonly Dictionary<string, long> Committed = new(StringComparer.Ordinal);
        public TaskCompletionSource Appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly ConcurrentDictionary<(string Topic, int Partition), Partition> _partitions = new();

    private Partition PartitionOf(string topic, int partition) => _partitions.GetOrAdd((topic, partition), _ => new Partition());

    public ValueTask AppendAsync<T>(LogTopic<T> topic, IReadOnlyList<T> records, CancellationToken cancellationToken = default)
    {
        // The record object itself carries its trace to the consumer: each continues from its produce span.
        using var spans = LogSpans.StartAppend("aspirechat.memory", topic, records);
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            if (topic.WithTrace is { } withTrace && spans[i] is not null) record = withTrace(record, spans.TraceOf(i));
            var partition = PartitionOf(topic.Name, LogPartitioner.PartitionOf(topic.KeyOf(record), partitions));
            TaskCompletionSource appended;
            lock (partition)
            {
                partition.Records.Add(record!);
                appended = partition.Appended;
                partition.Appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            appended.TrySetResult();
        }
        return ValueTask.CompletedTask;
    }

    public Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, partitions).Select(p => Task.Run(() => ConsumePartitionAsync(topic, group, PartitionOf(topic.Name, p), p, handler, cancellationToken), CancellationToken.None)));

    private async Task ConsumePartitionAsync<T>(LogTopic<T> topic, string group, Partition partition, int index, LogBatchHandler<T> handler, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                List<T> batch;
                long from;
                Task appended;
                lock (partition)
                {
                    from = partition.Committed.TryGetValue(group, out var committed) ? committed : partition.Trimmed;
                    partition.Committed[group] = from;
                    var start = (int)(from - partition.Trimmed);
                    var count = Math.Min(maxBatch, partition.Records.Count - start);
                    batch = count > 0 ? partition.Records.GetRange(start, count).ConvertAll(r => (T)r) : [];
                    appended = partition.Appended.Task;
                }
                if (batch.Count == 0)
                {
                    await appended.WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                await HandleAsync(topic, index, batch, handler, cancellationToken).ConfigureAwait(false);
                lock (partition)
                {
                    partition.Committed[group] = from + batch.Count;
                    var done = partition.Committed.Values.Min();
                    var drop = (int)(done - partition.Trimmed);
                    if (drop > 0)
                    {
                        partition.Records.RemoveRange(0, drop);
                        partition.Trimmed = done;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync<T>(LogTopic<T> topic, int partition, List<T> batch, LogBatchHandler<T> handler, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await handler(batch, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // At least once: the batch is retried until it succeeds; skipping it would lose records.
                LogHandlerFailed(logger, e, topic.Name, partition, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 50 * (1 << Math.Min(attempt, 7)))), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log {Topic}/{Partition}: consumer handler failed (attempt {Attempt}); retrying the batch")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string topic, int partition, int attempt);
}

/// <summary>Stable partition of a record key (FNV-1a), the same in every process and after restarts.</summary>
public static class LogPartitioner
{
    public static int PartitionOf(string key, int partitions)
    {
        var hash = 2166136261u;
        foreach (var c in key) hash = (hash ^ c) * 16777619u;
        return (int)(hash % (uint)partitions);
    }
}
