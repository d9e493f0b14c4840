using System.Diagnostics;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Operations;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Pipeline;

/// <summary>What stage 1 made of a batch: the messages with their <c>cseq</c>, the inbox appends (write diffusion) and the group notices.</summary>
public sealed record Sequenced(IReadOnlyList<ChatMessage> Messages, IReadOnlyList<InboxAppend> Appends, IReadOnlyList<GroupNotice> Notices);

/// <summary>
/// Stage 1: per conversation, in log order, assign <c>cseq</c>, store the message once, and fan it out.
/// One-to-one and small groups: one <see cref="InboxAppend"/> per member, sender included, so the sender's
/// other devices get it through the sender's own inbox (write diffusion). Groups above
/// <c>Groups:WriteDiffusionLimit</c>: a live notice to every gateway node and no inbox copies (read diffusion).
/// Membership events are applied here, at their <c>cseq</c> (decision 0005), and so are message operations (docs/protocol.md §13).
/// </summary>
public sealed class SequenceStage(IChatStore store, SequenceHeads heads, IGroupStore groups, MessageOperations operations, IMessageLog log, IDeliveryRouter router, IOptions<GroupOptions> options)
{
    public const string ConsumerGroup = "sequencer";

    // This process is the single writer of the conversations in its partitions, so its view of each
    // group's members is authoritative once loaded; bounded by Groups:MemberCacheSize.
    private readonly GroupMemberCache _groups = new(options.Value.MemberCacheSize);

    /// <summary>The stage's rules: stores the messages through <paramref name="writes"/> and works out their fan-out.</summary>
    public async ValueTask<Sequenced> SequenceAsync(IChatWrites writes, IReadOnlyList<MessageAccepted> batch, CancellationToken cancellationToken)
    {
        using var spans = BatchSpans.Start("sequence", ActivityKind.Internal, batch, static m => m.Trace);
        var messages = await writes.AppendMessagesAsync(batch, cancellationToken).ConfigureAwait(false);
        // Operations apply at their cseq; a recall erases content, which the fan-out then carries erased.
        messages = await operations.ApplyAsync(writes, messages, cancellationToken).ConfigureAwait(false);
        var appends = new List<InboxAppend>(messages.Count * 2);
        var notices = new List<GroupNotice>();
        try
        {
            for (var i = 0; i < messages.Count; i++)
            {
                var message = messages[i];
                var trace = spans.TraceOf(i);
                MessageTracing.Tag(spans[i], message.Id, message.Conv, message.Cseq);
                if (message.Ope == Ope.OneToOne)
                {
                    appends.Add(new InboxAppend(message.From, message) { Trace = trace });
                    if (message.To != message.From) appends.Add(new InboxAppend(message.To, message) { Trace = trace });
                    continue;
                }
                var first = appends.Count;
                await FanOutGroupAsync(message, appends, notices, cancellationToken).ConfigureAwait(false);
                if (trace == default) continue;
                for (var k = first; k < appends.Count; k++) appends[k] = appends[k] with { Trace = trace };
            }
        }
        catch (Exception e)
        {
            spans.Failed(e);
            Forget();
            throw;
        }
        ChatTelemetry.Sequenced.Add(messages.Count);
        return new Sequenced(messages, appends, notices);
    }

    /// <summary>
    /// Drops the cached group views: a batch that failed after its membership changes were applied in memory
    /// must not leave them there; the next batch loads what the store holds.
    /// </summary>
    public void Forget() => _groups.Clear();

    /// <summary>Hands the group notices of a sequenced batch to every gateway node.</summary>
    public async ValueTask PublishAsync(Sequenced sequenced, CancellationToken cancellationToken)
    {
        foreach (var notice in sequenced.Notices) await router.BroadcastAsync(notice, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Partitions of <c>chat.accepted</c> went to another worker: this process may no longer be the single writer of the
    /// conversations it cached, so their <c>cseq</c> heads and group views are read from the store again.
    /// </summary>
    public void Release()
    {
        heads.Conversations.Forget();
        Forget();
    }

    /// <summary>Stage 1 as a consumer of <c>chat.accepted</c> (distributed composition): one store batch per log batch, committed before the fan-out is logged.</summary>
    public async ValueTask HandleAsync(IReadOnlyList<MessageAccepted> batch, CancellationToken cancellationToken)
    {
        // A partition can move to another worker and back (a rebalance): membership changes sequenced there meanwhile
        // are in the store, not in this process's view, so the view of each group in the batch is loaded again.
        foreach (var accepted in batch)
        {
            if (accepted.Ope == Ope.Group) _groups.Remove(accepted.To);
        }
        Sequenced sequenced;
        using (var writes = store.BeginBatch())
        {
            try
            {
                sequenced = await SequenceAsync(writes, batch, cancellationToken).ConfigureAwait(false);
                await writes.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Membership changes of the batch may be applied in memory though its messages are not stored.
                Forget();
                throw;
            }
        }
        await log.AppendAsync(LogTopics.Inbox, sequenced.Appends, cancellationToken).ConfigureAwait(false);
        await PublishAsync(sequenced, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask FanOutGroupAsync(ChatMessage message, List<InboxAppend> appends, List<GroupNotice> notices, CancellationToken cancellationToken)
    {
        var gid = message.To;
        var state = await LoadAsync(gid, cancellationToken).ConfigureAwait(false);
        IEnumerable<string> recipients = state.Members.Keys;
        var changes = GroupEvents.ChangesOf(message);
        if (changes.Count > 0)
        {
            // Everyone before and after the change sees the event: the removed learn they were removed.
            var before = state.Members.Keys.ToHashSet(StringComparer.Ordinal);
            foreach (var change in changes)
            {
                if (change.Removes) state.Members.Remove(change.User);
                else state.Members.TryAdd(change.User, change.Role!);
            }
            before.UnionWith(state.Members.Keys);
            recipients = before;
            await groups.ApplyMembershipAsync(gid, message.Cseq, changes, cancellationToken).ConfigureAwait(false);
            notices.Add(new GroupNotice(gid, null, changes));
        }

        var fanout = state.Members.Count > options.Value.WriteDiffusionLimit ? GroupFanout.Read : GroupFanout.Write;
        if (fanout != state.Fanout)
        {
            await groups.SetFanoutAsync(gid, fanout, message.Cseq, cancellationToken).ConfigureAwait(false);
            state.Fanout = fanout;
        }
        if (fanout == GroupFanout.Write)
        {
            foreach (var member in recipients) appends.Add(new InboxAppend(member, message));
        }
        else
        {
            notices.Add(new GroupNotice(gid, message, []));
        }
    }

    private async ValueTask<GroupMemberView> LoadAsync(string gid, CancellationToken cancellationToken)
    {
        if (_groups.TryGet(gid, out var state)) return state;
        var members = await groups.GetMembersAsync(gid, cancellationToken).ConfigureAwait(false);
        var group = await groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false);
        state = new GroupMemberView(members.ToDictionary(m => m.User, m => m.Role, StringComparer.Ordinal), group?.Fanout ?? GroupFanout.Write);
        return _groups.GetOrAdd(gid, state);
    }
}
