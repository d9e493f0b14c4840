using System.Diagnostics;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Stages 0–2 composed in one process (the embedded mode): a batch of sends goes through accept, sequence and
/// inbox into one atomic write of the store — dedup records, messages with their <c>cseq</c>, inbox entries with
/// their <c>seq</c> — and only after that write are the senders acknowledged (with <c>cseq</c> and their own
/// <c>seq</c>) and the recipients' devices written to. One durable write and one hand-off per batch; the stage
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

        Acknowledge(verdict.Accepted, sequenced.Messages, entries);
        try
        {
            await sequence.PublishAsync(sequenced, cancellationToken).ConfigureAwait(false);
            await inbox.DeliverAsync(entries, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Durable and acknowledged: devices get what was not pushed from the retry loop, their next ack or hello.
            LogDeliveryFailed(logger, e, entries.Count);
        }
    }

    private static void Acknowledge(IReadOnlyList<AcceptedRequest> accepted, IReadOnlyList<ChatMessage> messages, IReadOnlyList<InboxEntry> entries)
    {
        // The sender's own inbox entry of each message, so its ack can say where it sits in the sender's inbox.
        var own = new Dictionary<long, long>(accepted.Count);
        foreach (var entry in entries)
        {
            if (entry.User == entry.Message.From) own[entry.Message.Id] = entry.Seq;
        }
        for (var i = 0; i < accepted.Count; i++)
        {
            var (request, _, record) = accepted[i];
            var message = messages[i];
            var seq = own.TryGetValue(message.Id, out var s) ? s : (long?)null;
            if (record is { } r) request.Accepted(r, message.Cseq, seq);
            else request.Accepted(new SendRecord(message.From, request.Device, 0, message.Id, message.Conv, message.Ts), message.Cseq, seq);
        }
        ChatTelemetry.Accepted.Add(accepted.Count);
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
