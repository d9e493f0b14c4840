using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Pipeline;

/// <summary>What became of a send: the durable record (ack it) or a rejection (answer the error).</summary>
public readonly record struct AcceptOutcome(SendRecord? Accepted, SendRejection? Rejected);

/// <summary>
/// Stage 0 (DESIGN §6): permission, dedup on (user, device, req), id, and a durable append to
/// <c>chat.accepted</c> — only then is the send acknowledged. Sends are taken from one queue in
/// arrival order and committed in batches (group commit), so a connection's sends keep their order
/// and many connections share one durable write.
/// </summary>
public sealed partial class AcceptStage(
    IChatStore store, IMessageLog log, IIdGenerator ids, ISendPermission permission,
    TimeProvider time, ILogger<AcceptStage> logger)
{
    private sealed record Pending(string User, string Device, SendFrame Send, string Conv, TaskCompletionSource<AcceptOutcome> Done);

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(16_384)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private const int MaxBatch = 512;

    /// <summary>Queues a validated send; completes when it is durable (or refused).</summary>
    public async ValueTask<AcceptOutcome> AcceptAsync(string user, string device, SendFrame send, CancellationToken cancellationToken = default)
    {
        var pending = new Pending(user, device, send, Identifiers.ConversationOf(send.Ope, user, send.To),
            new TaskCompletionSource<AcceptOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        return await pending.Done.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Queues a validated send and returns at once with a task for its outcome: the caller keeps reading
    /// the connection (pipelining) while the send is made durable. Waits only when the queue is full.
    /// </summary>
    public async ValueTask<Task<AcceptOutcome>> EnqueueAsync(string user, string device, SendFrame send, CancellationToken cancellationToken = default)
    {
        var pending = new Pending(user, device, send, Identifiers.ConversationOf(send.Ope, user, send.To),
            new TaskCompletionSource<AcceptOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        return pending.Done.Task;
    }

    /// <summary>The accept loop; run by the pipeline host until stopped.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var batch = new List<Pending>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
                try
                {
                    await CommitAsync(batch, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    LogAcceptFailed(logger, e, batch.Count);
                    var unavailable = new AcceptOutcome(null, new SendRejection(ErrorCodes.Unavailable, "the message store is unavailable; retry with the same req"));
                    foreach (var p in batch) p.Done.TrySetResult(unavailable);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        var stopping = new AcceptOutcome(null, new SendRejection(ErrorCodes.Unavailable, "the server is stopping; retry with the same req"));
        while (_queue.Reader.TryRead(out var left)) left.Done.TrySetResult(stopping);
        foreach (var p in batch) p.Done.TrySetResult(stopping);
    }

    private async Task CommitAsync(List<Pending> batch, CancellationToken cancellationToken)
    {
        using var activity = ChatTelemetry.Source.StartActivity("accept", ActivityKind.Internal);
        activity?.SetTag("batch", batch.Count);

        var allowed = new List<Pending>(batch.Count);
        foreach (var p in batch)
        {
            var refusal = await permission.CheckAsync(p.User, p.Send, cancellationToken).ConfigureAwait(false);
            if (refusal is null) allowed.Add(p);
            else p.Done.TrySetResult(new AcceptOutcome(null, refusal));
        }
        if (allowed.Count == 0) return;

        var newIds = new long[allowed.Count];
        await ids.NextIdsAsync(newIds, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var candidates = new SendRecord[allowed.Count];
        for (var i = 0; i < allowed.Count; i++)
        {
            var p = allowed[i];
            candidates[i] = new SendRecord(p.User, p.Device, p.Send.Req, newIds[i], p.Conv, now);
        }
        var records = await store.ReserveSendsAsync(candidates, cancellationToken).ConfigureAwait(false);

        // A retransmitted send is appended again under its original id: the reservation may have committed
        // in a run that crashed before the log append, and stage 1 ignores an id it has already stored.
        var accepted = new MessageAccepted[allowed.Count];
        for (var i = 0; i < allowed.Count; i++)
        {
            var (p, r) = (allowed[i], records[i]);
            accepted[i] = new MessageAccepted(r.Id, r.Conv, p.Send.Ope, p.User, p.Device, p.Send.Req, p.Send.To,
                p.Send.Type, p.Send.Body, p.Send.Ex is { ValueKind: JsonValueKind.Object } ex ? ex : null, r.Ts);
        }
        await log.AppendAsync(LogTopics.Accepted, accepted, cancellationToken).ConfigureAwait(false);
        ChatTelemetry.Accepted.Add(accepted.Length);
        for (var i = 0; i < allowed.Count; i++) allowed[i].Done.TrySetResult(new AcceptOutcome(records[i], null));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Accept of {Count} sends failed; answering unavailable")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception, int count);
}
