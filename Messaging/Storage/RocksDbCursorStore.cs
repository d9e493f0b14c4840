using System.Buffers.Binary;
using RocksDbSharp;
using static AspireChat.Messaging.Storage.RocksDbChatKeys;

namespace AspireChat.Messaging.Storage;

/// <summary>Device cursors (<c>D</c>) and the send records stage 0 dedups on (<c>S</c>, purged by time through <c>T</c>) on RocksDB.</summary>
public sealed class RocksDbCursorStore(RocksDbDatabase database) : ICursorStore
{
    private readonly RocksDbDatabase _database = database;
    private readonly Lock _cursorLock = new();

    public ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_database.Get(CursorKey(user, device)) is { } value ? BinaryPrimitives.ReadInt64BigEndian(value) : (long?)null);

    public ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        AdvanceCursorsAsync([(user, device, seq)], cancellationToken);

    public ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        if (cursors.Count == 0) return ValueTask.CompletedTask;
        using var batch = new WriteBatch();
        // Read-compare-write must not interleave with another advance of the same cursor.
        lock (_cursorLock)
        {
            foreach (var (user, device, seq) in cursors)
            {
                var key = CursorKey(user, device);
                if (_database.Get(key) is { } stored && BinaryPrimitives.ReadInt64BigEndian(stored) >= seq) continue;
                batch.Put(key, KeyBuilder.Int64(seq));
            }
            if (batch.Count() > 0) _database.Write(batch);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default)
    {
        long purged = 0;
        using var batch = new WriteBatch();
        foreach (var (key, _) in _database.Scan([SendTime]))
        {
            var ts = BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(1));
            if (ts >= olderThan) break;
            batch.Delete(key);
            // The send key is the time key without its time.
            batch.Delete((byte[])[Send, .. key.AsSpan(9)]);
            purged++;
        }
        if (purged > 0) _database.Write(batch);
        return ValueTask.FromResult(purged);
    }
}
