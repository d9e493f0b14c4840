using System.Globalization;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// One device session's sends on their way through stage 0: the rate limit (<c>Limits:SendsPerSecond</c>, bursts of
/// <c>Limits:SendBurst</c>; flooding past it closes 4429), the order rule of <see cref="SendOrder"/>, and the answers —
/// <c>ack</c> once durable, <c>error</c> when refused — written to the device. Counts the sends not yet answered, so a
/// closing session waits for them: an accepted send is never left without its ack because its connection was closing.
/// A refusal is told to the session (<paramref name="refused"/>), which counts <c>forbidden</c> and <c>not_found</c> as abuse.
/// </summary>
internal sealed class SendAdmission(IDeviceTransport transport, SendQueue queue, Pipeline.LimitsOptions limits, TimeProvider time, Action<string> refused) : IAcceptReply
{
    private readonly TokenBucket _rate = new(limits.SendsPerSecond, limits.SendBurst, time);
    private readonly SendOrder _order = new();
    // Made when first needed: a refusal, a close.
    private AbuseCounter? _floods;
    private TaskCompletionSource? _drained;
    private int _unanswered;
    private int _closing;

    /// <summary>Completes once the session is closing and every send taken has been answered.</summary>
    public Task Drained => DrainedSource.Task;

    private TaskCompletionSource DrainedSource => LazyInitializer.EnsureInitialized(ref _drained, static () => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>
    /// Takes a validated send into stage 0's queue, or refuses it past the rate limit. False when the refusal was flooding:
    /// the session closes.
    /// </summary>
    public async ValueTask<bool> TakeAsync(string user, string device, SendFrame send, CancellationToken cancellationToken)
    {
        if (!_rate.TryTake())
        {
            NotTaken(send.Req);
            transport.TryWrite(FrameCodec.Write(new ErrorFrame { Code = ErrorCodes.RateLimited, Message = "send rate limit exceeded; retry later with the same req", Req = send.Req }));
            return !AbuseCounter.Of(ref _floods, time).Record();
        }
        Interlocked.Increment(ref _unanswered);
        try
        {
            await queue.EnqueueAsync(user, device, send, this, _order, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Answered();
            throw;
        }
        return true;
    }

    /// <summary>
    /// A send (or operation) <paramref name="req"/> was refused before stage 0 (<c>rate_limited</c>): like one answered
    /// <c>unavailable</c>, no later send of the connection is taken before it is retransmitted, so the order holds.
    /// </summary>
    public void NotTaken(long req) => _order.NotTaken(req);

    /// <summary>The session is closing: <see cref="Drained"/> completes once nothing is owed.</summary>
    public void Close()
    {
        Volatile.Write(ref _closing, 1);
        if (Volatile.Read(ref _unanswered) == 0) DrainedSource.TrySetResult();
    }

    void IAcceptReply.Accepted(long req, SendRecord record, long? cseq, long? seq)
    {
        _order.Taken(req);
        transport.TryWrite(FrameCodec.Write(new SendAckFrame
        {
            Req = req, Id = record.Id.ToString(CultureInfo.InvariantCulture), Conv = record.Conv, Ts = record.Ts, Cseq = cseq, Seq = seq,
        }));
        Answered();
    }

    void IAcceptReply.Rejected(long req, SendRejection rejection)
    {
        if (rejection.Code == ErrorCodes.Unavailable) _order.NotTaken(req);
        transport.TryWrite(FrameCodec.Write(new ErrorFrame { Code = rejection.Code, Message = rejection.Message, Req = req }));
        Answered();
        refused(rejection.Code);
    }

    private void Answered()
    {
        if (Interlocked.Decrement(ref _unanswered) == 0 && Volatile.Read(ref _closing) == 1) DrainedSource.TrySetResult();
    }
}
