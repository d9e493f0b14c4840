using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>State of a send or an operation. Pending and Failed are what a UI shows as "not sent yet".</summary>
public enum OutgoingStatus
{
    /// <summary>Queued or transmitted, no <c>ack</c> yet; the client retransmits it with the same <c>req</c>.</summary>
    Pending,
    /// <summary>The server acknowledged it: it is durable and will reach every recipient.</summary>
    Sent,
    /// <summary>Refused by the server or out of attempts; <c>ChatClient.Retry</c> sends it again with the same <c>req</c>.</summary>
    Failed,
}

/// <summary>The server's acknowledgement of a send or an operation: <c>Id</c> is the new timeline entry's.</summary>
public sealed record SendReceipt(long Req, string Id, string Conv, long Ts);

/// <summary>
/// A frame on its way to the server under a <c>req</c> of the device's one sequence — a message
/// (<see cref="OutgoingMessage"/>) or an operation on one (<see cref="OutgoingOperation"/>): its status and, once
/// acknowledged, the id, conversation and time of the timeline entry it made. Both are retransmitted, deduplicated
/// and answered alike (docs/protocol.md §8.1, §13.2).
/// </summary>
public abstract class OutgoingRequest
{
    private readonly TaskCompletionSource<SendReceipt> _acked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile OutgoingStatus _status;
    private volatile SendReceipt? _receipt;

    private protected OutgoingRequest(long req, byte[] frame)
    {
        Req = req;
        Frame = frame;
    }

    /// <summary>Client sequence number: the idempotency key the server deduplicates on.</summary>
    public long Req { get; }

    public OutgoingStatus Status => _status;
    public SendReceipt? Receipt => _receipt;
    /// <summary>Snowflake id of the timeline entry, once acknowledged.</summary>
    public string? Id => _receipt?.Id;
    /// <summary>Server accept time (Unix ms), once acknowledged.</summary>
    public long? Ts => _receipt?.Ts;
    /// <summary>Why it failed: an <see cref="ErrorCodes"/> or <see cref="ClientErrorCodes"/> value.</summary>
    public string? ErrorCode { get; private set; }
    public string? ErrorMessage { get; private set; }
    /// <summary>Transmissions so far (the first one included).</summary>
    public int Attempts { get; internal set; }

    /// <summary>Completes with the receipt when the server acknowledges; faults with <see cref="ChatException"/> when it fails.</summary>
    public Task<SendReceipt> Acked => _acked.Task;

    /// <summary>Raised once per transition (to Sent or to Failed), on a client thread.</summary>
    public event EventHandler<OutgoingStatus>? StatusChanged;

    // Transport bookkeeping, guarded by the outbox lock.
    internal byte[] Frame { get; }
    internal int ConnectionId { get; set; }
    internal DateTimeOffset DueAt { get; set; }

    internal bool TryMarkSent(SendAckFrame ack)
    {
        if (_status != OutgoingStatus.Pending) return false;
        _receipt = new SendReceipt(ack.Req, ack.Id, ack.Conv, ack.Ts);
        _status = OutgoingStatus.Sent;
        return true;
    }

    internal bool TryMarkFailed(string code, string message)
    {
        if (_status != OutgoingStatus.Pending) return false;
        ErrorCode = code;
        ErrorMessage = message;
        _status = OutgoingStatus.Failed;
        return true;
    }

    /// <summary>Completes the task and raises the event for a transition made under the outbox lock.</summary>
    internal void Announce()
    {
        if (_status == OutgoingStatus.Sent) _acked.TrySetResult(_receipt!);
        else if (_status == OutgoingStatus.Failed)
        {
            _acked.TrySetException(new ChatException(ErrorCode!, ErrorMessage!));
            _ = _acked.Task.Exception; // observed: an app that only watches Status must not trip UnobservedTaskException
        }
        else return;
        StatusChanged?.Invoke(this, _status);
    }

    internal void Abandon() => _acked.TrySetCanceled();
}
