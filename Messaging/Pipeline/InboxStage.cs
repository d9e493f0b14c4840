using System.Diagnostics;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Storage;

namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Stage 2: per user, in log order, assign <c>seq</c>, store the inbox entry, and push it to the user's online
/// devices. A user with no online device gets a <see cref="PushRequested"/> in <c>chat.push</c> instead, except
/// for the user's own messages and for system messages (membership events). An entry that was already stored
/// (a replay after a worker died or a partition moved) is offered to the devices again, since the worker that stored it
/// may have died before pushing it: each device's session lets it through only where it was
/// never written (decision 0011), so nothing is pushed twice; a replay requests no second push notification.
/// </summary>
public sealed class InboxStage(IChatStore store, SequenceHeads heads, InboxRouter router, IMessageLog log, TimeProvider time)
{
    public const string ConsumerGroup = "inbox";

    /// <summary>
    /// The stage's store rule: the inbox entries, with their <c>seq</c>, and the users' conversation index rows, through
    /// <paramref name="writes"/> (in the embedded composition, the same atomic write).
    /// </summary>
    public async ValueTask<IReadOnlyList<InboxEntry>> AppendAsync(IChatWrites writes, IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken)
    {
        using var spans = BatchSpans.Start("inbox", ActivityKind.Internal, appends, static a => a.Trace);
        var entries = await writes.AppendInboxAsync(appends, cancellationToken).ConfigureAwait(false);
        // All of them, replays too: a row at or past a message ignores it, and one whose update was lost catches up.
        // Not operation entries: they are neither a conversation's last message nor unread (docs/protocol.md §13.2).
        await writes.UpdateConversationsAsync(WithoutOperations(appends), cancellationToken).ConfigureAwait(false);
        ChatTelemetry.InboxAppended.Add(entries.Count);
        if (!spans.HasMessageSpans) return entries;
        // Each entry goes on to routing in its message's trace, from its span here.
        var traced = new InboxEntry[entries.Count];
        for (var i = 0; i < traced.Length; i++)
        {
            MessageTracing.Tag(spans[i], entries[i]);
            var trace = spans.TraceOf(i);
            traced[i] = trace == default ? entries[i] : entries[i] with { Trace = trace };
        }
        return traced;
    }

    /// <summary>After the entries are durable: routes each new one to its user's online devices, and requests a push where none is online.</summary>
    public async ValueTask DeliverAsync(IReadOnlyList<InboxEntry> entries, CancellationToken cancellationToken)
    {
        List<PushRequested>? pushes = null;
        foreach (var entry in entries)
        {
            bool online;
            var route = MessageTracing.StartRoute(entry);
            try
            {
                online = await router.RouteAsync(MessageTracing.Continue(entry, route), cancellationToken).ConfigureAwait(false);
                route?.SetTag("online", online);
            }
            finally
            {
                MessageTracing.StopKeepingCurrent(route);
            }
            // A replay is offered again but counted once, and requests no second push notification.
            if (!entry.IsNew) continue;
            if (online)
            {
                ChatTelemetry.Delivered.Add(1);
                ChatTelemetry.DeliveryLatency.Record((time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(entry.Message.Ts)).TotalMilliseconds);
                continue;
            }
            if (WantsPush(entry))
            {
                (pushes ??= []).Add(new PushRequested(entry.User, entry.Seq, entry.Message.Id, entry.Message.Conv, entry.Message.From, entry.Message.Ts)
                {
                    Mention = entry.Message.IsMentioned(entry.User),
                });
            }
        }
        if (pushes is null) return;
        await log.AppendAsync(LogTopics.Push, pushes, cancellationToken).ConfigureAwait(false);
        ChatTelemetry.PushRequested.Add(pushes.Count);
    }

    /// <summary>
    /// Partitions of <c>chat.inbox</c> went to another worker: this process may no longer be the single writer of the
    /// inboxes it cached, so their <c>seq</c> heads are read from the store again.
    /// </summary>
    public void Release() => heads.Inboxes.Forget();

    /// <summary>Stage 2 as a consumer of <c>chat.inbox</c> (distributed composition): one store batch per log batch.</summary>
    public async ValueTask HandleAsync(IReadOnlyList<InboxAppend> batch, CancellationToken cancellationToken)
    {
        IReadOnlyList<InboxEntry> entries;
        using (var writes = store.BeginBatch())
        {
            entries = await AppendAsync(writes, batch, cancellationToken).ConfigureAwait(false);
            await writes.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        await DeliverAsync(entries, cancellationToken).ConfigureAwait(false);
    }

    // A user is not notified of what they sent themselves (from another device), nor of system messages and operations.
    private static bool WantsPush(InboxEntry entry) => entry.Message.From != entry.User && entry.Message.Type >= 0;

    private static IReadOnlyList<InboxAppend> WithoutOperations(IReadOnlyList<InboxAppend> appends)
    {
        foreach (var append in appends)
        {
            if (Protocol.OperationTypes.IsOperation(append.Message.Type)) return [.. appends.Where(a => !Protocol.OperationTypes.IsOperation(a.Message.Type))];
        }
        return appends;
    }
}
