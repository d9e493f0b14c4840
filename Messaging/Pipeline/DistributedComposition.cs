using AspireChat.Messaging.Log;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Stage 0 of the distributed composition: accepted sends are appended to <c>chat.accepted</c> (keyed by
/// conversation) and acknowledged once the log has them durably; stage 1 and stage 2 run as consumers of the log
/// (<see cref="SequenceStage.HandleAsync"/>, <see cref="InboxStage.HandleAsync"/>), each committing its own writes.
/// </summary>
public sealed partial class DistributedComposition(
    SendQueue queue, IChatStore store, IMessageLog log, AcceptStage accept, ILogger<DistributedComposition> logger) : IPipelineComposition
{
    public Task RunAsync(CancellationToken cancellationToken) => queue.ConsumeAsync(CommitAsync, cancellationToken);

    private async ValueTask CommitAsync(List<AcceptRequest> batch, CancellationToken cancellationToken)
    {
        IReadOnlyList<AcceptRequest> unanswered = batch;
        try
        {
            AcceptedBatch verdict;
            // Stage 0's writes are one store batch, committed before the log sees the sends.
            using (var writes = store.BeginBatch())
            {
                verdict = await accept.AcceptAsync(writes, batch, cancellationToken).ConfigureAwait(false);
                await writes.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            foreach (var (request, rejection) in verdict.Refused) request.Rejected(rejection);
            unanswered = [.. verdict.Accepted.Select(a => a.Request)];
            if (verdict.Accepted.Count == 0) return;
            await log.AppendAsync(LogTopics.Accepted, [.. verdict.Accepted.Select(a => a.Accepted)], cancellationToken).ConfigureAwait(false);
            foreach (var (request, accepted, record) in verdict.Accepted)
            {
                request.Accepted(record ?? new SendRecord(accepted.From, accepted.Device, accepted.Req, accepted.Id, accepted.Conv, accepted.Ts), null, null);
            }
            ChatTelemetry.Accepted.Add(verdict.Accepted.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogAcceptFailed(logger, e, batch.Count);
            var unavailable = new SendRejection(ErrorCodes.Unavailable, "the message log is unavailable; retry with the same req");
            foreach (var request in unanswered) request.Rejected(unavailable);
        }
        catch
        {
            foreach (var request in unanswered) request.Rejected(SendQueue.Stopping);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Accept of {Count} sends failed; answering unavailable")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception, int count);
}
