using System.Diagnostics;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Storage;

namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Stage 2 (DESIGN §6): per user, in log order, assign <c>seq</c>, store the inbox entry, and push it
/// to the user's online devices. An entry that was already stored (a replay) is not pushed again:
/// its device either acked it or gets it from its cursor.
/// </summary>
public sealed class InboxStage(IChatStore store, InboxDelivery delivery)
{
    public const string ConsumerGroup = "inbox";

    public async ValueTask HandleAsync(IReadOnlyList<InboxAppend> batch, CancellationToken cancellationToken)
    {
        using var activity = ChatTelemetry.Source.StartActivity("inbox", ActivityKind.Consumer);
        var entries = await store.AppendInboxAsync(batch, cancellationToken).ConfigureAwait(false);
        ChatTelemetry.InboxAppended.Add(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.IsNew) await delivery.DeliverAsync(entry, cancellationToken).ConfigureAwait(false);
        }
    }
}
