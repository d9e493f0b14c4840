using System.Collections.Concurrent;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Holds a connection's live large-group messages while its hello page of that group is being read, then
/// writes only those after the page: a message sequenced during the catch-up is neither lost (the connection
/// is already in the group's local map) nor written twice (once live, once in the page), and the group's
/// messages go out in <c>cseq</c> order.
/// </summary>
public sealed class GroupCatchUp(Action<byte[]> write)
{
    private sealed class Held
    {
        public readonly List<(long Cseq, byte[] Frame)> Frames = [];
        public bool Released;
    }

    private readonly ConcurrentDictionary<string, Held> _groups = new(StringComparer.Ordinal);

    /// <summary>Starts holding live messages of these groups (before the connection joins their local maps).</summary>
    public void Begin(IEnumerable<string> gids)
    {
        foreach (var gid in gids) _groups[gid] = new Held();
    }

    /// <summary>A live message: held while its group catches up, written at once otherwise.</summary>
    public void Live(string gid, long cseq, byte[] frame)
    {
        if (_groups.TryGetValue(gid, out var held))
        {
            lock (held)
            {
                if (!held.Released)
                {
                    held.Frames.Add((cseq, frame));
                    return;
                }
            }
        }
        write(frame);
    }

    /// <summary>The page is written up to <paramref name="pageEnd"/>: write the held messages after it and stop holding.</summary>
    public void End(string gid, long pageEnd)
    {
        if (!_groups.TryGetValue(gid, out var held)) return;
        lock (held)
        {
            foreach (var (cseq, frame) in held.Frames.OrderBy(f => f.Cseq))
            {
                if (cseq > pageEnd) write(frame);
            }
            held.Frames.Clear();
            held.Released = true;
        }
        _groups.TryRemove(gid, out _);
    }
}
