using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// Stage 1's rule for operation entries (docs/protocol.md §13): once a batch's entries have their <c>cseq</c>, each
/// operation is applied to its target's <see cref="MessageState"/> in that order, the states are stored in the same
/// batch, and a recall erases the content of its message and of the message's edits from the timeline.
/// </summary>
public sealed class MessageOperations(IMessageStateStore states, ITimelineStore timeline)
{
    /// <summary>
    /// Applies the operations among <paramref name="messages"/> through <paramref name="writes"/>. Returns the messages to
    /// fan out: the same list, except entries whose content a recall in this batch erased.
    /// </summary>
    public async ValueTask<IReadOnlyList<ChatMessage>> ApplyAsync(IChatWrites writes, IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        Dictionary<(string, long), (MessageState State, ChatMessage? Message)>? touched = null;
        Dictionary<(string, long), ChatMessage>? erased = null;
        foreach (var operation in messages)
        {
            if (!OperationTypes.IsOperation(operation.Type)) continue;
            var target = OperationEntries.TargetOf(operation);
            touched ??= [];
            if (!touched.TryGetValue((operation.Conv, target), out var held))
            {
                // Stage 0 found the target stored before it accepted the operation, so it is there.
                var message = await timeline.GetMessageAsync(operation.Conv, target, cancellationToken).ConfigureAwait(false);
                if (message is null) continue;
                var stored = await states.GetStatesAsync(operation.Conv, [target], cancellationToken).ConfigureAwait(false);
                touched[(operation.Conv, target)] = held = (stored.TryGetValue(target, out var state) ? state : MessageState.Of(message), message);
            }
            foreach (var entry in held.State.Apply(operation, held.Message))
                (erased ??= [])[(entry.Conv, entry.Cseq)] = entry;
        }
        if (touched is null) return messages;
        await writes.PutMessageStatesAsync([.. touched.Values.Select(t => t.State)], cancellationToken).ConfigureAwait(false);
        if (erased is null) return messages;
        await writes.ReplaceContentAsync([.. erased.Values], cancellationToken).ConfigureAwait(false);
        return [.. messages.Select(m => erased.TryGetValue((m.Conv, m.Cseq), out var e) ? e : m)];
    }
}
