using System.Collections.Concurrent;

namespace AspireChat.Messaging.Storage;

/// <summary>One kind of sequence head (conversations' <c>cseq</c> or inboxes' <c>seq</c>) under the rules of <see cref="SequenceHeads"/>.</summary>
public sealed class SequenceHeadCache
{
    private readonly ConcurrentDictionary<string, long> _heads = new(StringComparer.Ordinal);
    // Taken once per committed write and per forget, never per message.
    private readonly Lock _lock = new();
    private long _epoch;

    /// <summary>
    /// Which cache a write starts from: taken before it reads its first head and handed to <see cref="Committed"/>, so a
    /// write that was running when the cache was forgotten does not bring its heads back.
    /// </summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>The cached head of <paramref name="key"/>, if any.</summary>
    public bool TryGet(string key, out long head) => _heads.TryGetValue(key, out head);

    /// <summary>The head to count from: the cached one, else the stored one (read through, cached only once a write commits).</summary>
    public long Get(string key, Func<string, long> readStored) => _heads.TryGetValue(key, out var head) ? head : readStored(key);

    /// <summary>The heads a committed write left, unless the cache was forgotten since <paramref name="epoch"/>.</summary>
    public void Committed(long epoch, IEnumerable<KeyValuePair<string, long>> heads)
    {
        lock (_lock)
        {
            if (epoch != _epoch) return;
            foreach (var (key, head) in heads) _heads[key] = head;
        }
    }

    /// <summary>Drops the heads a failed write touched: it may have stored part of itself.</summary>
    public void Failed(IEnumerable<string> keys)
    {
        foreach (var key in keys) _heads.TryRemove(key, out _);
    }

    /// <summary>Drops every head: this process may no longer be the single writer of what it cached.</summary>
    public void Forget()
    {
        lock (_lock)
        {
            _epoch++;
            _heads.Clear();
        }
    }
}
