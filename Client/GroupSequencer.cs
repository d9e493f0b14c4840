using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>What became of one group message offered to the <see cref="GroupSequencer"/>.</summary>
internal enum GroupOutcome
{
    /// <summary>Surfaced now (with any held successors it unblocked).</summary>
    Surfaced,
    /// <summary>Behind a <c>cseq</c> gap: held until <c>gsync</c> (or the other path) brings what is missing.</summary>
    Held,
    /// <summary>That <c>cseq</c> of that group was already surfaced or is held: dropped.</summary>
    Duplicate,
}

/// <summary>
/// Surfaces each group message once and in <c>cseq</c> order per group conversation, whichever path brought it: the
/// inbox (groups up to the write-diffusion limit, with <c>seq</c>), live pushes and hello pages of large groups (no
/// <c>seq</c>), and <c>gsync</c> pages (docs/protocol.md, decision 0009). A group that crosses the limit delivers one stretch of its
/// timeline through one path and the next through the other, and the two race; deduplicating on (group, <c>cseq</c>)
/// and holding what comes ahead of a gap makes the crossing invisible. Per group it tracks the highest contiguous
/// <c>cseq</c> surfaced — the group cursor of <c>hello.groups</c> and of <c>ack {group, cseq}</c>.
/// Thread-safe; the receive loop is its only writer.
/// </summary>
internal sealed class GroupSequencer
{
    private sealed class Track
    {
        /// <summary>Every message of the group this device may read with <c>cseq</c> ≤ this has been surfaced; -1 unknown.</summary>
        public long Contiguous = -1;
        public readonly SortedDictionary<long, MsgFrame> Ahead = [];
        /// <summary>Messages came without <c>seq</c>: the group is (or was) large, and the server keeps its cursor from our acks.</summary>
        public bool ReadDiffusion;
        public long Acked = -1;
        /// <summary>The server refused a group ack (not a member any more): no more acks until a message surfaces again.</summary>
        public bool AckRefused;
        /// <summary>When a message of the group was last taken (a counter, not a clock).</summary>
        public long LastActive;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Track> _tracks = new(StringComparer.Ordinal);
    // Inbox seqs of held messages: the inbox cursor must not be acknowledged past them.
    private readonly SortedSet<long> _heldSeqs = [];
    private long _activity;

    /// <summary>The group of a message that belongs in a group timeline (conv <c>g:{gid}</c>, cseq ≥ 1); null otherwise.</summary>
    public static string? GroupOf(MsgFrame message)
    {
        if (message.Cseq < 1 || !message.Conv.StartsWith("g:", StringComparison.Ordinal)) return null;
        var gid = message.Conv[2..];
        return Identifiers.IsValidId(gid) ? gid : null;
    }

    /// <summary>Starts from stored group cursors (invalid entries are ignored: the server would refuse the hello).</summary>
    public void Reset(IReadOnlyDictionary<string, long>? cursors)
    {
        lock (_gate)
        {
            _tracks.Clear();
            _heldSeqs.Clear();
            foreach (var (gid, cseq) in cursors ?? new Dictionary<string, long>())
            {
                if (Identifiers.IsValidId(gid) && cseq >= 0) _tracks[gid] = new Track { Contiguous = cseq, Acked = cseq };
            }
        }
    }

    /// <summary>Takes one message of <paramref name="gid"/>; appends what may be shown now, in <c>cseq</c> order, to <paramref name="surfaced"/>.</summary>
    public GroupOutcome Accept(string gid, MsgFrame message, List<MsgFrame> surfaced)
    {
        lock (_gate)
        {
            var track = TrackOf(gid);
            if (message.Seq is null) track.ReadDiffusion = true;
            track.LastActive = ++_activity;
            return AcceptLocked(track, message, surfaced);
        }
    }

    /// <summary>
    /// Takes a <c>gsync</c> page asked with <paramref name="after"/>. The page holds every message of (after, next] this
    /// device may read, so when it joins what was surfaced, the cursor moves to <c>next</c> even over <c>cseq</c>s the
    /// device may not read (before it joined, while it was out of the group).
    /// </summary>
    public void AcceptPage(string gid, long after, IReadOnlyList<MsgFrame> items, long next, List<MsgFrame> surfaced)
    {
        lock (_gate)
        {
            var track = TrackOf(gid);
            track.ReadDiffusion = true;
            track.LastActive = ++_activity;
            if (track.Contiguous < 0) track.Contiguous = after;
            if (after > track.Contiguous)
            {
                // Ahead of what was surfaced: the stretch in between is unknown, so these wait like live pushes.
                foreach (var item in items)
                {
                    if (GroupOf(item) == gid) AcceptLocked(track, item, surfaced);
                }
                return;
            }

            // Held copies first: one that came through the inbox keeps its seq.
            var covered = new SortedDictionary<long, MsgFrame>();
            foreach (var (cseq, held) in track.Ahead)
            {
                if (cseq > next) break;
                covered[cseq] = held;
            }
            foreach (var item in items)
            {
                if (item.Cseq > track.Contiguous && item.Cseq <= next && GroupOf(item) == gid) covered.TryAdd(item.Cseq, item);
            }
            foreach (var (cseq, message) in covered)
            {
                Unhold(track, cseq);
                if (cseq <= track.Contiguous) continue;
                surfaced.Add(message);
                track.Contiguous = cseq;
            }
            track.Contiguous = Math.Max(track.Contiguous, next);
            if (covered.Count > 0) track.AckRefused = false;
            Drain(track, surfaced);
        }
    }

    /// <summary>Gives up on the gap of <paramref name="gid"/> (the server will not fill it): surfaces what is held, in order.</summary>
    public void Release(string gid, List<MsgFrame> surfaced)
    {
        lock (_gate)
        {
            if (!_tracks.TryGetValue(gid, out var track)) return;
            foreach (var cseq in track.Ahead.Keys.ToList())
            {
                surfaced.Add(track.Ahead[cseq]);
                Unhold(track, cseq);
                track.Contiguous = cseq;
            }
        }
    }

    /// <summary>The group cursor: highest contiguous <c>cseq</c> surfaced; -1 when unknown.</summary>
    public long CursorOf(string gid)
    {
        lock (_gate) return _tracks.TryGetValue(gid, out var track) ? track.Contiguous : -1;
    }

    /// <summary>Every known group cursor, for <c>hello.groups</c> and the cursor store; null when there is none.</summary>
    public Dictionary<string, long>? Cursors()
    {
        lock (_gate)
        {
            Dictionary<string, long>? cursors = null;
            foreach (var (gid, track) in _tracks)
            {
                if (track.Contiguous >= 0) (cursors ??= new(StringComparer.Ordinal))[gid] = track.Contiguous;
            }
            return cursors;
        }
    }

    /// <summary>
    /// The cursors for <c>hello.groups</c>, within about <paramref name="budgetBytes"/> of JSON: large groups first (the
    /// server reads only theirs), then the most recently active others (they matter if one grew large meanwhile).
    /// </summary>
    public Dictionary<string, long>? HelloCursors(int budgetBytes)
    {
        lock (_gate)
        {
            Dictionary<string, long>? cursors = null;
            var used = 0;
            foreach (var (gid, track) in _tracks.Where(t => t.Value.Contiguous >= 0)
                         .OrderByDescending(t => t.Value.ReadDiffusion).ThenByDescending(t => t.Value.LastActive))
            {
                used += gid.Length + 24; // "gid":cseq, with room for 19 digits
                if (used > budgetBytes) break;
                (cursors ??= new(StringComparer.Ordinal))[gid] = track.Contiguous;
            }
            return cursors;
        }
    }

    /// <summary>Groups with messages held behind a gap.</summary>
    public List<string> Gaps()
    {
        lock (_gate) return [.. _tracks.Where(t => t.Value.Ahead.Count > 0).Select(t => t.Key)];
    }

    public bool HasGaps
    {
        get { lock (_gate) return _tracks.Values.Any(t => t.Ahead.Count > 0); }
    }

    /// <summary>The lowest inbox <c>seq</c> held behind a group gap; null when none is.</summary>
    public long? LowestHeldSeq
    {
        get { lock (_gate) return _heldSeqs.Count > 0 ? _heldSeqs.Min : null; }
    }

    /// <summary>
    /// The <c>ack {group, cseq}</c>s due: large groups whose cursor moved since their last ack. They count as sent;
    /// <paramref name="all"/> repeats every large group's (after a reconnect, the last ones may have died with the socket).
    /// </summary>
    public List<(string Group, long Cseq)> TakeAcksDue(bool all)
    {
        lock (_gate)
        {
            var due = new List<(string, long)>();
            foreach (var (gid, track) in _tracks)
            {
                if (!track.ReadDiffusion || track.AckRefused || track.Contiguous < 0) continue;
                if (track.Contiguous <= track.Acked && !all) continue;
                track.Acked = track.Contiguous;
                due.Add((gid, track.Contiguous));
            }
            return due;
        }
    }

    /// <summary>The server refused a group ack: the device is no longer a member, so stop acknowledging the group.</summary>
    public void AckRefused(string gid)
    {
        lock (_gate)
        {
            if (_tracks.TryGetValue(gid, out var track)) track.AckRefused = true;
        }
    }

    private Track TrackOf(string gid)
    {
        if (!_tracks.TryGetValue(gid, out var track)) _tracks[gid] = track = new Track();
        return track;
    }

    private GroupOutcome AcceptLocked(Track track, MsgFrame message, List<MsgFrame> surfaced)
    {
        var cseq = message.Cseq;
        // Without a cursor the first message seen is the baseline, as the inbox does with its first seq.
        if (track.Contiguous < 0) track.Contiguous = cseq - 1;
        if (cseq <= track.Contiguous || track.Ahead.ContainsKey(cseq)) return GroupOutcome.Duplicate;
        if (cseq != track.Contiguous + 1)
        {
            track.Ahead.Add(cseq, message);
            if (message.Seq is { } seq) _heldSeqs.Add(seq);
            return GroupOutcome.Held;
        }
        surfaced.Add(message);
        track.Contiguous = cseq;
        track.AckRefused = false;
        Drain(track, surfaced);
        return GroupOutcome.Surfaced;
    }

    private void Drain(Track track, List<MsgFrame> surfaced)
    {
        while (track.Ahead.Count > 0)
        {
            var (cseq, held) = track.Ahead.First();
            if (cseq > track.Contiguous + 1) break;
            Unhold(track, cseq);
            if (cseq <= track.Contiguous) continue;
            surfaced.Add(held);
            track.Contiguous = cseq;
        }
    }

    private void Unhold(Track track, long cseq)
    {
        if (track.Ahead.Remove(cseq, out var held) && held.Seq is { } seq) _heldSeqs.Remove(seq);
    }
}
