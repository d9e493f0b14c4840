using System.Diagnostics;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Stage 1 (DESIGN §6): per conversation, in log order, assign <c>cseq</c>, store the message once,
/// and fan out one <see cref="InboxAppend"/> per member — sender included, so the sender's other
/// devices get it through the sender's own inbox.
/// </summary>
public sealed class SequenceStage(IChatStore store, IMessageLog log)
{
    public const string ConsumerGroup = "sequencer";

    public async ValueTask HandleAsync(IReadOnlyList<MessageAccepted> batch, CancellationToken cancellationToken)
    {
        using var activity = ChatTelemetry.Source.StartActivity("sequence", ActivityKind.Consumer);
        var messages = await store.AppendMessagesAsync(batch, cancellationToken).ConfigureAwait(false);
        var appends = new List<InboxAppend>(messages.Count * 2);
        foreach (var message in messages)
        {
            foreach (var member in Members(message)) appends.Add(new InboxAppend(member, message));
        }
        await log.AppendAsync(LogTopics.Inbox, appends, cancellationToken).ConfigureAwait(false);
        ChatTelemetry.Sequenced.Add(messages.Count);
    }

    private static IEnumerable<string> Members(ChatMessage message)
    {
        if (message.Ope == Ope.OneToOne)
        {
            yield return message.From;
            if (message.To != message.From) yield return message.To;
        }
        // Groups: the group issue adds membership-based fan-out.
    }
}
