using System.Diagnostics;
using System.Text.Json.Serialization.Metadata;

namespace AspireChat.Messaging.Log;

/// <summary>A topic of the message log: its name, how a record is keyed (partitioned), and its JSON form.</summary>
public sealed record LogTopic<T>(string Name, Func<T, string> KeyOf, JsonTypeInfo<T> Json)
{
    /// <summary>The trace a record carries (its message's), when its records carry one: each record's produce span continues it.</summary>
    public Func<T, ActivityContext>? TraceOf { get; init; }

    /// <summary>The record carrying the trace its consumer continues from (the log passes it in headers or in memory).</summary>
    public Func<T, ActivityContext, T>? WithTrace { get; init; }
}

/// <summary>The three topics of the pipeline (decision 0009).</summary>
public static class LogTopics
{
    public static readonly LogTopic<MessageAccepted> Accepted = new("chat.accepted", m => m.Conv, MessagingJson.Default.MessageAccepted)
    {
        TraceOf = m => m.Trace,
        WithTrace = (m, trace) => m with { Trace = trace },
    };

    public static readonly LogTopic<InboxAppend> Inbox = new("chat.inbox", a => a.User, MessagingJson.Default.InboxAppend)
    {
        TraceOf = a => a.Trace,
        WithTrace = (a, trace) => a with { Trace = trace },
    };

    public static readonly LogTopic<PushRequested> Push = new("chat.push", p => p.User, MessagingJson.Default.PushRequested);
}

/// <summary>The spans of an append to the log: a batch span, and one per traced record in its message's trace.</summary>
internal static class LogSpans
{
    public static BatchSpans StartAppend<T>(string system, LogTopic<T> topic, IReadOnlyList<T> records)
    {
        var spans = BatchSpans.Start($"send {topic.Name}", ActivityKind.Producer, records, topic.TraceOf ?? (static _ => default));
        if (spans.Batch is { } batch)
        {
            batch.SetTag("messaging.system", system);
            batch.SetTag("messaging.operation.type", "send");
            batch.SetTag("messaging.destination.name", topic.Name);
        }
        return spans;
    }
}

/// <summary>Handles one batch of records from one partition, in log order.</summary>
public delegate ValueTask LogBatchHandler<T>(IReadOnlyList<T> batch, CancellationToken cancellationToken);

/// <summary>
/// Tells a consumer that partitions it consumed are no longer its own (revoked in a rebalance, or lost when the member
/// was dropped from its group), after its handler stopped for them: whatever it cached as their single writer is stale.
/// </summary>
public delegate void LogPartitionsReleased(IReadOnlyList<int> partitions, bool lost);

/// <summary>
/// The message log port: durable, partitioned by key, consumed in order per partition.
/// Records with the same key keep their append order.
/// </summary>
public interface IMessageLog
{
    /// <summary>Appends records; completes only when every record is durable (the acknowledgement point).</summary>
    ValueTask AppendAsync<T>(LogTopic<T> topic, IReadOnlyList<T> records, CancellationToken cancellationToken = default);

    /// <summary>
    /// Consumes <paramref name="topic"/> as consumer <paramref name="group"/> until cancelled: batches per
    /// partition, in order; a batch's position is committed only after the handler returns, so a crash
    /// replays it (at least once).
    /// </summary>
    Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="ConsumeAsync{T}(LogTopic{T}, string, LogBatchHandler{T}, CancellationToken)"/>, telling
    /// <paramref name="released"/> when partitions of this consumer go to another: a consumer that caches
    /// something as the single writer of its partitions (the stores' sequence heads) must drop it then. A log whose consumer keeps every partition for its whole life (the in-process one) never calls it.
    /// </summary>
    Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, LogPartitionsReleased released, CancellationToken cancellationToken) =>
        ConsumeAsync(topic, group, handler, cancellationToken);
}
