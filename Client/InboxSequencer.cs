using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>What became of one received <c>msg</c>.</summary>
internal enum InboxOutcome
{
    /// <summary>Surfaced now (with any buffered successors it unblocked).</summary>
    Surfaced,
    /// <summary>Ahead of a gap: held until the missing <c>seq</c>s arrive.</summary>
    Buffered,
    /// <summary>Already held or surfaced: dropped.</summary>
    Duplicate,
}

/// <summary>
/// Turns the at-least-once, possibly gapped stream of inbox messages into an exactly-once, <c>seq</c>-ordered one
/// (docs/protocol.md §8–§9). Tracks cur_max, the highest contiguous <c>seq</c> surfaced. Used by the receive loop only.
/// </summary>
internal sealed class InboxSequencer
{
    private const int RecentUnsequencedLimit = 4096;

    private readonly SortedDictionary<long, MsgFrame> _ahead = new();
    private readonly HashSet<string> _recentIds = new(StringComparer.Ordinal);
    private readonly HashSet<(string Conv, long Cseq)> _recentPositions = new();
    private readonly Queue<(string Id, string Conv, long Cseq)> _recentOrder = new();
    private long _curMax = -1;

    /// <summary>Highest contiguous <c>seq</c> surfaced; -1 while unknown (no stored cursor and nothing received yet).</summary>
    public long CurMax => _curMax;

    /// <summary>True while messages wait behind a missing <c>seq</c>.</summary>
    public bool HasGap => _ahead.Count > 0;

    /// <summary>Starts from a stored cursor (null: unknown, the first message received sets the baseline).</summary>
    public void Reset(long? cursor)
    {
        _curMax = cursor ?? -1;
        _ahead.Clear();
    }

    /// <summary>Takes one message; appends what may be shown now, in <c>seq</c> order, to <paramref name="surfaced"/>.</summary>
    public InboxOutcome Accept(MsgFrame msg, List<MsgFrame> surfaced)
    {
        if (msg.Seq is not { } seq) return AcceptUnsequenced(msg, surfaced);
        if (seq < 1) return InboxOutcome.Duplicate;

        // Without a cursor the server starts after the cursor it recorded, oldest first: the first seq is the baseline.
        if (_curMax < 0) _curMax = seq - 1;

        if (seq <= _curMax || _ahead.ContainsKey(seq)) return InboxOutcome.Duplicate;
        if (seq != _curMax + 1)
        {
            _ahead.Add(seq, msg);
            return InboxOutcome.Buffered;
        }

        surfaced.Add(msg);
        _curMax = seq;
        while (_ahead.Remove(_curMax + 1, out var next))
        {
            surfaced.Add(next);
            _curMax++;
        }
        return InboxOutcome.Surfaced;
    }

    // Group messages without seq go to the GroupSequencer; anything else without one (no server sends such a thing
    // today) is deduplicated by id and by (conv, cseq) over a bounded recent window and surfaced as it comes.
    private InboxOutcome AcceptUnsequenced(MsgFrame msg, List<MsgFrame> surfaced)
    {
        if (_recentIds.Contains(msg.Id) || (msg.Cseq > 0 && _recentPositions.Contains((msg.Conv, msg.Cseq))))
            return InboxOutcome.Duplicate;

        _recentIds.Add(msg.Id);
        if (msg.Cseq > 0) _recentPositions.Add((msg.Conv, msg.Cseq));
        _recentOrder.Enqueue((msg.Id, msg.Conv, msg.Cseq));
        if (_recentOrder.Count > RecentUnsequencedLimit)
        {
            var (id, conv, cseq) = _recentOrder.Dequeue();
            _recentIds.Remove(id);
            _recentPositions.Remove((conv, cseq));
        }
        surfaced.Add(msg);
        return InboxOutcome.Surfaced;
    }
}
