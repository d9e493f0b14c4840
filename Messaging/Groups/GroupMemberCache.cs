namespace AspireChat.Messaging.Groups;

/// <summary>
/// Stage 1's group views, bounded by the members they hold in all (<c>Groups:MemberCacheSize</c>): past the bound the
/// least recently used groups are dropped, and the next message to one loads it from the store again. A view is
/// weighed (its member count) when it is added and each time it is looked up, so a group that grew since is counted
/// as it is now; the view in use is never the one dropped, so one group larger than the bound is still cached, alone.
/// </summary>
/// <remarks>
/// Dropping a view is always safe: stage 1 writes every membership change to the store before it moves on, so a view
/// loaded again equals the one dropped. Each operation is O(1) under one lock, held for no I/O.
/// </remarks>
public sealed class GroupMemberCache(int capacity)
{
    private sealed class Slot(string gid, GroupMemberView view)
    {
        public string Gid { get; } = gid;
        public GroupMemberView View { get; } = view;
        public int Weight;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<Slot>> _slots = new(StringComparer.Ordinal);
    // Most recently used first.
    private readonly LinkedList<Slot> _order = new();
    private long _members;

    /// <summary>How many groups are cached.</summary>
    public int Count
    {
        get { lock (_gate) return _slots.Count; }
    }

    /// <summary>How many members the cached views hold in all, as last weighed.</summary>
    public long Members
    {
        get { lock (_gate) return _members; }
    }

    /// <summary>The cached view of <paramref name="gid"/>, now the most recently used; false when none is cached.</summary>
    public bool TryGet(string gid, out GroupMemberView view)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(gid, out var node))
            {
                view = null!;
                return false;
            }
            _order.Remove(node);
            _order.AddFirst(node);
            Weigh(node.Value);
            Trim();
            view = node.Value.View;
            return true;
        }
    }

    /// <summary>Caches <paramref name="view"/> unless a view of the group is cached already; returns the cached one.</summary>
    public GroupMemberView GetOrAdd(string gid, GroupMemberView view)
    {
        lock (_gate)
        {
            if (_slots.TryGetValue(gid, out var existing)) return existing.Value.View;
            var node = _order.AddFirst(new Slot(gid, view));
            _slots[gid] = node;
            Weigh(node.Value);
            Trim();
            return view;
        }
    }

    /// <summary>Drops the view of <paramref name="gid"/>, if cached.</summary>
    public void Remove(string gid)
    {
        lock (_gate)
        {
            if (_slots.Remove(gid, out var node)) Drop(node);
        }
    }

    /// <summary>Drops every view.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _slots.Clear();
            _order.Clear();
            _members = 0;
        }
    }

    // Under _gate.
    private void Weigh(Slot slot)
    {
        var weight = Math.Max(1, slot.View.Members.Count);
        _members += weight - slot.Weight;
        slot.Weight = weight;
    }

    // Under _gate: the least recently used go until the rest fit; the first (in use) stays.
    private void Trim()
    {
        while (_members > capacity && _order.Last is { } last && last != _order.First)
        {
            _slots.Remove(last.Value.Gid);
            Drop(last);
        }
    }

    private void Drop(LinkedListNode<Slot> node)
    {
        _order.Remove(node);
        _members -= node.Value.Weight;
    }
}
