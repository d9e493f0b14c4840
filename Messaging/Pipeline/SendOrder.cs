namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Keeps one connection's sends in the order it sent them when a backing service fails (docs/protocol.md §9): once a
/// send is answered <c>unavailable</c>, no later send of the connection is accepted before it — they are answered
/// <c>unavailable</c> too — until it is retransmitted and taken. Without this a send refused while the log was away
/// could be overtaken by the ones pipelined behind it, and land after them when retransmitted. A new connection starts
/// clean (its client retransmits in req order after the welcome).
/// </summary>
public sealed class SendOrder
{
    private SortedSet<long>? _notTaken;

    /// <summary>The refusal a held-back send gets.</summary>
    public static readonly SendRejection HeldBack = new(Protocol.ErrorCodes.Unavailable,
        "an earlier send of this connection was not taken; retransmit it first, then this one with the same req");

    /// <summary>The send <paramref name="req"/> was answered with a "not taken" code.</summary>
    public void NotTaken(long req)
    {
        lock (this) (_notTaken ??= []).Add(req);
    }

    /// <summary>The send <paramref name="req"/> was taken (acknowledged).</summary>
    public void Taken(long req)
    {
        lock (this) _notTaken?.Remove(req);
    }

    /// <summary>True when an earlier send, not taken, must go first.</summary>
    public bool HoldsBack(long req)
    {
        lock (this) return _notTaken is { Count: > 0 } notTaken && req > notTaken.Min;
    }
}
