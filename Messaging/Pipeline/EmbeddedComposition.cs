using System.Diagnostics;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Stages 0–2 composed in one process (the embedded mode): a batch of sends goes through accept, sequence and
/// inbox into one atomic write of the store — dedup records, messages with their <c>cseq</c>, inbox entries with
/// their <c>seq</c> — and only after that write are the senders acknowledged (with <c>cseq</c> and their own
/// <c>seq</c>) and the recipients' devices written to. The ack stands for the sender's own inbox entry on the device
/// that sent it, which is not pushed that entry (decision 0019). One durable write and one hand-off per batch; the stage
/// rules are the ones the log consumers of the distributed composition run.
/// </summary>
public sealed partial class EmbeddedComposition(
    SendQueue queue, IChatStore store, AcceptStage accept, SequenceStage sequence, InboxStage inbox, ILogger<EmbeddedComposition> logger)
    : IPipelineComposition
{
    public Task RunAsync(CancellationToken cancellationToken) => queue.ConsumeAsync(CommitAsync, cancellationToken);

    private async ValueTask CommitAsync(List<AcceptRequest> batch, CancellationToken cancellationToken)
    {
        IReadOnlyList<AcceptRequest> unanswered = batch;
        AcceptedBatch verdict;
        Sequenced sequenced;
        IReadOnlyList<InboxEntry> entries;
        // The parent of the stages' batch spans; each message's own spans are in its trace.
        using var pipeline = ChatTelemetry.Source.StartActivity("embedded pipeline", ActivityKind.Internal, default(ActivityContext));
        pipeline?.SetTag("messaging.batch.message_count", batch.Count);
        try
        {
            using var writes = store.BeginBatch();
            verdict = await accept.AcceptAsync(writes, batch, cancellationToken).ConfigureAwait(false);
            foreach (var (request, rejection) in verdict.Refused) request.Rejected(rejection);
            unanswered = [.. verdict.Accepted.Select(a => a.Request)];
            if (verdict.Accepted.Count == 0) return;

            sequenced = await sequence.SequenceAsync(writes, [.. verdict.Accepted.Select(a => a.Accepted)], cancellationToken).ConfigureAwait(false);
            entries = await inbox.AppendAsync(writes, sequenced.Appends, cancellationToken).ConfigureAwait(false);
            using (var commit = BatchSpans.Start("commit", ActivityKind.Internal, entries, static e => e.Trace))
            {
                await writes.CommitAsync(cancellationToken).ConfigureAwait(false);
                if (commit.HasMessageSpans)
                {
                    for (var i = 0; i < entries.Count; i++) MessageTracing.Tag(commit[i], entries[i]);
                    entries = [.. entries.Select((e, i) => commit[i] is null ? e : e with { Trace = commit.TraceOf(i) })];
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            sequence.Forget();
            LogCommitFailed(logger, e, batch.Count);
            foreach (var request in unanswered) request.Rejected(Unavailable);
            return;
        }
        catch
        {
            sequence.Forget();
            foreach (var request in unanswered) request.Rejected(SendQueue.Stopping);
            throw;
        }

        await AnswerAndRouteAsync(verdict.Accepted, sequenced, entries, cancellationToken).ConfigureAwait(false);
    }

    // Answers the senders and routes the entries, both after the commit. A send's ack carries the sender's own inbox seq,
    // and that entry is tagged with the ack's answer so the sending session does not push it back (docs/protocol.md §8.2).
    // Each such ack goes out just before its own entry is routed: the sending device then gets the entries of its inbox
    // that precede it in this batch before the ack, in seq order, as it would have got the msg. Acks without an own
    // entry (server events, large groups) go first.
    private async ValueTask AnswerAndRouteAsync(IReadOnlyList<AcceptedRequest> accepted, Sequenced sequenced, IReadOnlyList<InboxEntry> entries, CancellationToken cancellationToken)
    {
        var messages = sequenced.Messages;
        var ownEntry = new Dictionary<long, int>(accepted.Count);
        for (var k = 0; k < entries.Count; k++)
        {
            if (entries[k].User == entries[k].Message.From) ownEntry.TryAdd(entries[k].Message.Id, k);
        }
        // Per entry, the sends answered just before it is routed (a send retransmitted within one batch has two).
        var answerBefore = new List<int>?[entries.Count];
        var routed = entries as InboxEntry[] ?? [.. entries];
        for (var i = 0; i < accepted.Count; i++)
        {
            if (!ownEntry.TryGetValue(messages[i].Id, out var k))
            {
                Answer(accepted[i], messages[i], null);
                continue;
            }
            (answerBefore[k] ??= []).Add(i);
            if (accepted[i].Request.Send is not null) routed[k] = routed[k] with { AckedTo = accepted[i].Request.Reply };
        }
        ChatTelemetry.Accepted.Add(accepted.Count);

        var next = 0;
        try
        {
            await sequence.PublishAsync(sequenced, cancellationToken).ConfigureAwait(false);
            var from = 0;
            for (; next < routed.Length; next++)
            {
                if (answerBefore[next] is not { } answers) continue;
                if (next > from) await inbox.DeliverAsync(new ArraySegment<InboxEntry>(routed, from, next - from), cancellationToken).ConfigureAwait(false);
                from = next;
                foreach (var i in answers) Answer(accepted[i], messages[i], routed[next].Seq);
            }
            if (routed.Length > from) await inbox.DeliverAsync(new ArraySegment<InboxEntry>(routed, from, routed.Length - from), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Durable and acknowledged: devices get what was not pushed from the retry loop, their next ack or hello.
            LogDeliveryFailed(logger, e, entries.Count);
        }
        finally
        {
            // Every durable send is answered, whatever routing did.
            for (; next < routed.Length; next++)
            {
                foreach (var i in answerBefore[next] ?? []) Answer(accepted[i], messages[i], routed[next].Seq);
            }
        }
    }

    private static void Answer(AcceptedRequest accepted, ChatMessage message, long? seq)
    {
        var (request, _, record) = accepted;
        request.Accepted(record ?? new SendRecord(message.From, request.Device, 0, message.Id, message.Conv, message.Ts), message.Cseq, seq);
    }

    private static readonly SendRejection Unavailable = new(ErrorCodes.Unavailable, "the message store is unavailable; retry with the same req");

    [LoggerMessage(Level = LogLevel.Error, Message = "Commit of a batch of {Count} sends failed; answering unavailable")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushing {Count} committed inbox entries failed; they are left to the retry loop and sync")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, int count);
}

/// <summary>How the stages are put together in this process: it runs stage 0 from the <see cref="SendQueue"/> and what follows.</summary>
public interface IPipelineComposition
{
    /// <summary>Takes sends from the queue until stopped; answers what is left with <c>unavailable</c>.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}
