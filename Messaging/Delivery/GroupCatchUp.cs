namespace AspireChat.Messaging.Delivery;

/// <summary>
/// A device's large-group messages (read diffusion: live notices and the hello's catch-up pages) on their way to its
/// connection, in <c>cseq</c> order and each once. From the start of a hello's catch-up until its end every live message is held; each
/// group's page is written, then what was held after it; from then on a live message is written unless its group has
/// had it already (its page, or a notice replayed after a rebalance). A message sequenced while the catch-up reads is
/// neither lost (the session joined the node's group map before the group's cursor was read) nor written twice.
/// Outside a catch-up, live messages go straight through.
/// </summary>
public sealed class GroupCatchUp(Action<byte[]> write)
{
    private sealed class Group
    {
        // Live messages waiting for the group's page; null once the group is live.
        public List<(long Cseq, byte[] Frame)>? Held;
        // The highest cseq written to the device.
        public long Delivered;
    }

    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private bool _catchingUp;

    /// <summary>A hello's catch-up begins: from now until <see cref="Finish"/> live messages are held (these groups' until their page).</summary>
    public void Begin(IEnumerable<string> gids)
    {
        lock (_groups)
        {
            _catchingUp = true;
            foreach (var gid in gids)
            {
                if (!_groups.TryGetValue(gid, out var group)) _groups[gid] = group = new Group();
                group.Held ??= [];
            }
        }
    }

    /// <summary>A live message of a large group: held during the catch-up, written at once after it, dropped when already written.</summary>
    public void Live(string gid, long cseq, byte[] frame)
    {
        lock (_groups)
        {
            if (!_groups.TryGetValue(gid, out var group)) _groups[gid] = group = new Group { Held = _catchingUp ? [] : null };
            if (group.Held is { } held)
            {
                held.Add((cseq, frame));
                return;
            }
            if (cseq <= group.Delivered) return;
            group.Delivered = cseq;
            write(frame);
        }
    }

    /// <summary>
    /// The hello's page of a group: its messages after the device's cursor, up to <paramref name="pageEnd"/> (the last
    /// one's cseq, or the cursor when there is none). Written, then the live messages held after it.
    /// </summary>
    public void Page(string gid, IReadOnlyList<(long Cseq, byte[] Frame)> page, long pageEnd)
    {
        lock (_groups)
        {
            if (!_groups.TryGetValue(gid, out var group)) _groups[gid] = group = new Group { Held = [] };
            foreach (var (cseq, frame) in page) WriteAfter(group, cseq, frame);
            group.Delivered = Math.Max(group.Delivered, pageEnd);
            Release(group);
        }
    }

    /// <summary>The hello's catch-up is over: groups with live messages and no page (joined meanwhile) are written in cseq order.</summary>
    public void Finish()
    {
        lock (_groups)
        {
            _catchingUp = false;
            foreach (var group in _groups.Values) Release(group);
        }
    }

    private void Release(Group group)
    {
        if (group.Held is not { } held) return;
        group.Held = null;
        foreach (var (cseq, frame) in held.OrderBy(f => f.Cseq)) WriteAfter(group, cseq, frame);
    }

    private void WriteAfter(Group group, long cseq, byte[] frame)
    {
        if (cseq <= group.Delivered) return;
        group.Delivered = cseq;
        write(frame);
    }
}
