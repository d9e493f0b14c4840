namespace AspireChat.Messaging.Pipeline;

/// <summary>
/// Keeps one connection's sends in the order it sent them when a backing service fails (docs/protocol.md §9): once a
/// send is answered <c>unavailable</c>, no later send of the connection is taken before it — they are answered
/// <c>unavailable</c> too — until it is retransmitted. Without this a send refused while the log was away could be
/// overtaken by the ones pipelined behind it, and land after them when retransmitted. Retransmissions may be pipelined:
/// a refused send that is on its way again (admitted to stage 0, not yet answered) no longer holds the later ones back;
/// stage 0 answers one batch before it admits the next, so if it fails again they are held back again. A new
/// connection starts clean (its client retransmits in req order after the welcome).
/// </summary>
public sealed class SendOrder
{
    // Sends answered unavailable and not taken since, and those of them admitted again (on their way, unanswered).
    private SortedSet<long>? _notTaken;
    private HashSet<long>? _again;

    /// <summary>The refusal a held-back send gets.</summary>
    public static readonly SendRejection HeldBack = new(Protocol.ErrorCodes.Unavailable,
        "an earlier send of this connection was not taken; retransmit it first, then this one with the same req");

    /// <summary>Stage 0 asks whether <paramref name="req"/> may be taken now; false while an earlier refused send is not on its way again.</summary>
    public bool Admits(long req)
    {
        lock (this)
        {
            if (_notTaken is not { Count: > 0 } notTaken) return true;
            foreach (var earlier in notTaken)
            {
                if (earlier >= req) break;
                if (_again?.Contains(earlier) != true) return false;
            }
            if (notTaken.Contains(req)) (_again ??= []).Add(req);
            return true;
        }
    }

    /// <summary>The send <paramref name="req"/> was answered <c>unavailable</c>.</summary>
    public void NotTaken(long req)
    {
        lock (this)
        {
            (_notTaken ??= []).Add(req);
            _again?.Remove(req);
        }
    }

    /// <summary>The send <paramref name="req"/> was taken (acknowledged).</summary>
    public void Taken(long req)
    {
        lock (this)
        {
            _notTaken?.Remove(req);
            _again?.Remove(req);
        }
    }
}
