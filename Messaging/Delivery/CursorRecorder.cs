using System.Collections.Concurrent;
using AspireChat.Messaging.Storage;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Records devices' cursors from their cumulative acks. Acks arrive often (a client acks every few dozen
/// milliseconds under load), so the newest cursor of each device is kept in memory and written in one batch
/// per flush instead of one write per ack. A crash loses at most the last flush interval of cursor advance:
/// those entries are pushed again after the device's next hello, and the client drops a seq it holds (docs/protocol.md §8).
/// </summary>
public sealed class CursorRecorder(ICursorStore store)
{
    private readonly ConcurrentDictionary<(string User, string Device), long> _dirty = new();

    /// <summary>Notes that the device holds everything up to <paramref name="seq"/>.</summary>
    public void Record(string user, string device, long seq) =>
        _dirty.AddOrUpdate((user, device), seq, (_, old) => Math.Max(old, seq));

    /// <summary>The device's cursor: the newest noted but not yet written, else the stored one.</summary>
    public async ValueTask<long?> GetAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        var stored = await store.GetCursorAsync(user, device, cancellationToken).ConfigureAwait(false);
        return _dirty.TryGetValue((user, device), out var pending) ? Math.Max(pending, stored ?? 0) : stored;
    }

    /// <summary>Writes every noted cursor; returns how many.</summary>
    public async ValueTask<int> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_dirty.IsEmpty) return 0;
        var batch = new List<(string User, string Device, long Seq)>(_dirty.Count);
        foreach (var key in _dirty.Keys)
        {
            if (_dirty.TryRemove(key, out var seq)) batch.Add((key.User, key.Device, seq));
        }
        try
        {
            await store.AdvanceCursorsAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Not written: keep them for the next flush (a newer ack meanwhile wins by Max).
            foreach (var (user, device, seq) in batch) Record(user, device, seq);
            throw;
        }
        return batch.Count;
    }
}
