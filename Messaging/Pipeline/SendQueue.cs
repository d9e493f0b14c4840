using System.Diagnostics;
using System.Threading.Channels;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Pipeline;

/// <summary>Where the outcome of a queued send goes: the connection that sent it writes its <c>ack</c> or <c>error</c>.</summary>
public interface IAcceptReply
{
    /// <summary>The send is durable as <paramref name="record"/>; <paramref name="cseq"/> and <paramref name="seq"/> (the sender's own
    /// inbox entry) are known when the acknowledgement point already holds the inbox entries (embedded composition).</summary>
    void Accepted(long req, SendRecord record, long? cseq, long? seq);

    /// <summary>The send was refused, or could not be made durable (<c>unavailable</c>: retry with the same req).</summary>
    void Rejected(long req, SendRejection rejection);
}

/// <summary>
/// One item of stage 0's queue: a client's validated send, or a server event (a group membership change) that
/// already has its id. Items are taken in arrival order, so a connection's sends keep their order.
/// </summary>
public sealed record AcceptRequest(string User, string Device, SendFrame? Send, MessageAccepted? Event, string Conv, IAcceptReply Reply)
{
    public long Req => Send?.Req ?? 0;

    /// <summary>The order rule of the sending device's session (<see cref="SendOrder"/>); none for server events.</summary>
    public SendOrder? Order { get; init; }

    /// <summary>The root span of the send's trace (<see cref="MessageTracing.StartReceive"/>), ended when the sender is answered.</summary>
    public Activity? Receive { get; init; }

    /// <summary>The trace the message continues: its receive span, or for a server event the activity that submitted it.</summary>
    public ActivityContext Trace { get; init; }

    /// <summary>Answers the sender: durable as <paramref name="record"/> (see <see cref="IAcceptReply.Accepted"/>).</summary>
    public void Accepted(SendRecord record, long? cseq, long? seq)
    {
        MessageTracing.Answered(Receive, record, cseq, seq);
        Reply.Accepted(Req, record, cseq, seq);
    }

    /// <summary>Answers the sender: refused, or not made durable.</summary>
    public void Rejected(SendRejection rejection)
    {
        MessageTracing.Refused(Receive, rejection);
        Reply.Rejected(Req, rejection);
    }
}

/// <summary>
/// The queue of stage 0: connections and the group service put sends in, the composition running stage 0
/// takes them out in batches (group commit). Bounded: a full queue makes senders wait (back-pressure).
/// </summary>
public sealed class SendQueue
{
    private readonly Channel<AcceptRequest> _queue = Channel.CreateBounded<AcceptRequest>(new BoundedChannelOptions(16_384)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>
    /// Queues a validated send; its outcome goes to <paramref name="reply"/>, and stage 0 takes it only when
    /// <paramref name="order"/> admits it. Waits only when the queue is full.
    /// The message's trace starts here: the gateway took the send from the device's socket.
    /// </summary>
    public async ValueTask EnqueueAsync(string user, string device, SendFrame send, IAcceptReply reply, SendOrder? order = null, CancellationToken cancellationToken = default)
    {
        var conv = Identifiers.ConversationOf(send.Ope, user, send.To);
        var receive = MessageTracing.StartReceive(user, device, send.Req, conv);
        try
        {
            await _queue.Writer.WriteAsync(new AcceptRequest(user, device, send, null, conv, reply) { Order = order, Receive = receive, Trace = receive?.Context ?? default }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch
        {
            MessageTracing.StopKeepingCurrent(receive);
            throw;
        }
    }

    /// <summary>Queues a server event; completes when it is durable (throws when it could not be made so).</summary>
    public async ValueTask SubmitEventAsync(MessageAccepted accepted, CancellationToken cancellationToken = default)
    {
        var reply = new EventReply();
        var request = new AcceptRequest(accepted.From, accepted.Device, null, accepted, accepted.Conv, reply) { Trace = Activity.Current?.Context ?? default };
        await _queue.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        await reply.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The loop of a composition: takes batches in arrival order (waits for one item, then takes what is there, up to
    /// <see cref="AcceptStage.MaxBatch"/>) and hands each to <paramref name="commit"/> until stopped; then answers what is
    /// left with <c>unavailable</c>.
    /// </summary>
    internal async Task ConsumeAsync(Func<List<AcceptRequest>, CancellationToken, ValueTask> commit, CancellationToken cancellationToken)
    {
        var batch = new List<AcceptRequest>(AcceptStage.MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < AcceptStage.MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
                await commit(batch, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        while (_queue.Reader.TryRead(out var left)) left.Rejected(Stopping);
    }

    /// <summary>What a send still queued when the host stops is answered.</summary>
    internal static readonly SendRejection Stopping = new(ErrorCodes.Unavailable, "the server is stopping; retry with the same req");

    private sealed class EventReply : IAcceptReply
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Accepted(long req, SendRecord record, long? cseq, long? seq) => Done.TrySetResult();
        public void Rejected(long req, SendRejection rejection) => Done.TrySetException(new InvalidOperationException($"{rejection.Code}: {rejection.Message}"));
    }
}
