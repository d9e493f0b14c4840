using System.Text.Json.Serialization.Metadata;

namespace AspireChat.Messaging.Log;

/// <summary>A topic of the message log: its name, how a record is keyed (partitioned), and its JSON form.</summary>
public sealed record LogTopic<T>(string Name, Func<T, string> KeyOf, JsonTypeInfo<T> Json);

/// <summary>The three topics of the pipeline (decision 0009).</summary>
public static class LogTopics
{
    public static readonly LogTopic<MessageAccepted> Accepted = new("chat.accepted", m => m.Conv, MessagingJson.Default.MessageAccepted);
    public static readonly LogTopic<InboxAppend> Inbox = new("chat.inbox", a => a.User, MessagingJson.Default.InboxAppend);
    public static readonly LogTopic<PushRequested> Push = new("chat.push", p => p.User, MessagingJson.Default.PushRequested);
}

/// <summary>Handles one batch of records from one partition, in log order.</summary>
public delegate ValueTask LogBatchHandler<T>(IReadOnlyList<T> batch, CancellationToken cancellationToken);

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
}
