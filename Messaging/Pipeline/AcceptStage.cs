using System.Diagnostics;
using System.Text.Json;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Storage;

namespace AspireChat.Messaging.Pipeline;

/// <summary>A request that passed stage 0 and the record it became.</summary>
public readonly record struct AcceptedRequest(AcceptRequest Request, MessageAccepted Accepted, SendRecord? Record);

/// <summary>Stage 0's verdict on a batch: what goes on (in arrival order) and what was refused.</summary>
public sealed record AcceptedBatch(IReadOnlyList<AcceptedRequest> Accepted, IReadOnlyList<(AcceptRequest Request, SendRejection Rejection)> Refused);

/// <summary>
/// Stage 0's rules: permission, an id, and dedup on (user, device, req). A retransmitted send comes back under
/// its original id and is passed on again: the first attempt may have been reserved in a run that crashed
/// before the rest of its pipeline committed, and the later stages ignore what they already stored.
/// The composition answers: refusals at once, the accepted once durable.
/// </summary>
public sealed class AcceptStage(IIdGenerator ids, ISendPermission permission, TimeProvider time, ITimelineStore? timeline = null)
{
    /// <summary>Most requests taken into one batch.</summary>
    public const int MaxBatch = 512;

    public async ValueTask<AcceptedBatch> AcceptAsync(IChatWrites writes, IReadOnlyList<AcceptRequest> batch, CancellationToken cancellationToken)
    {
        using var spans = BatchSpans.Start("accept", ActivityKind.Internal, batch, static r => r.Trace);

        var sends = new List<AcceptRequest>(batch.Count);
        List<(AcceptRequest, SendRejection)>? refused = null;
        foreach (var request in batch)
        {
            if (request.Send is not { } send) continue;
            var refusal = request.Order?.Admits(send.Req) != false
                ? await permission.CheckAsync(request.User, send, cancellationToken).ConfigureAwait(false)
                : SendOrder.HeldBack;
            if (refusal is null) sends.Add(request);
            else (refused ??= []).Add((request, refusal));
        }

        var records = new Dictionary<AcceptRequest, SendRecord>(ReferenceEqualityComparer.Instance);
        if (refused is not null && timeline is not null) await AnswerRetransmissionsAsync(writes, timeline, refused, records, cancellationToken).ConfigureAwait(false);
        if (sends.Count > 0)
        {
            var newIds = new long[sends.Count];
            await ids.NextIdsAsync(newIds, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var candidates = new SendRecord[sends.Count];
            for (var i = 0; i < sends.Count; i++)
                candidates[i] = new SendRecord(sends[i].User, sends[i].Device, sends[i].Req, newIds[i], sends[i].Conv, now);
            var reserved = await writes.ReserveSendsAsync(candidates, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < sends.Count; i++) records[sends[i]] = reserved[i];
        }

        // Arrival order is kept across sends and events: it is the order stage 1 sequences them in.
        // Each message goes on in its own trace, from its span here.
        var accepted = new List<AcceptedRequest>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var request = batch[i];
            if (request.Event is { } ev)
            {
                MessageTracing.Tag(spans[i], ev.Id, ev.Conv);
                accepted.Add(new AcceptedRequest(request, ev with { Trace = spans.TraceOf(i) }, null));
            }
            else if (records.TryGetValue(request, out var r))
            {
                var send = request.Send!;
                MessageTracing.Tag(spans[i], r.Id, r.Conv);
                accepted.Add(new AcceptedRequest(request, new MessageAccepted(r.Id, r.Conv, send.Ope, request.User, request.Device, send.Req, send.To,
                    send.Type, send.Body, send.Ex is { ValueKind: JsonValueKind.Object } ex ? ex : null, r.Ts)
                {
                    Reply = send.Reply is { } reply ? Operations.OperationRequests.ParseId(reply) : null,
                    Mentions = send.Mentions,
                    Trace = spans.TraceOf(i),
                }, r));
            }
            else
            {
                spans[i]?.SetStatus(ActivityStatusCode.Error, "refused");
            }
        }
        return new AcceptedBatch(accepted, refused ?? []);
    }

    // A send the rules refuse now may have been taken before they came to (an edit of a message recalled since, a send
    // before its sender left the group): if its (user, device, req) holds a record and its message is stored, it is a
    // retransmission and goes on under its original id, to be answered as the first time — never a refusal of what was
    // acknowledged. A record alone is not enough: the distributed composition writes it before the log append, which
    // may have failed (answered unavailable, never taken); a message still on its way through the log is refused as
    // the rules say.
    private static async ValueTask AnswerRetransmissionsAsync(IChatWrites writes, ITimelineStore timeline,
        List<(AcceptRequest Request, SendRejection Rejection)> refused, Dictionary<AcceptRequest, SendRecord> records, CancellationToken cancellationToken)
    {
        var ruled = refused.Where(r => !ReferenceEquals(r.Rejection, SendOrder.HeldBack)).Select(r => r.Request).ToList();
        if (ruled.Count == 0) return;
        var held = await writes.FindSendsAsync([.. ruled.Select(r => new SendRecord(r.User, r.Device, r.Req, 0, r.Conv, 0))], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < ruled.Count; i++)
        {
            if (held[i] is not { } record || await timeline.GetMessageAsync(record.Conv, record.Id, cancellationToken).ConfigureAwait(false) is null) continue;
            records[ruled[i]] = record;
            refused.RemoveAll(r => ReferenceEquals(r.Request, ruled[i]));
        }
    }
}
